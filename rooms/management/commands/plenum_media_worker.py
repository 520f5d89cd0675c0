"""`manage.py plenum_media_worker`: the one process that runs the SFU at scale (rooms.media.worker)."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rooms import groups
from rooms.media import worker


class Command(BaseCommand):
    help = "Run the media worker: the SFU for every daphne process (PLENUM_MEDIA=worker, REDIS_URL)."

    def handle(self, *args, **options):
        # Refused rather than started in vain: the daphne processes would not send it anything,
        # or (in-memory layer) could not reach it.
        if settings.PLENUM_MEDIA != "worker":
            raise CommandError("Set PLENUM_MEDIA=worker here and in every daphne process.")
        if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError("The media worker needs the Redis channel layer: set REDIS_URL.")
        asyncio.run(worker.serve(ready=self._ready))

    def _ready(self):
        self.stdout.write(f"media worker reading channel {groups.MEDIA_WORKER}")
        self.stdout.flush()
