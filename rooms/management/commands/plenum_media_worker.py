"""`manage.py plenum_media_worker --index N`: one of the processes that run the SFU at scale
(rooms.media.worker); PLENUM_MEDIA_WORKERS of them, numbered from 0, share the rooms."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rooms.media import commands, worker
from venue import groups


class Command(BaseCommand):
    help = (
        "Run media worker number --index (0 to PLENUM_MEDIA_WORKERS - 1): the SFU for its share of "
        "the rooms, for every daphne process (PLENUM_MEDIA=worker, REDIS_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--index", type=int, default=0, help="this worker's number, from 0 (default 0)")

    def handle(self, *args, index, **options):
        # Refused rather than started in vain: the daphne processes would not send it anything,
        # or (in-memory layer) could not reach it.
        if settings.PLENUM_MEDIA != "worker":
            raise CommandError("Set PLENUM_MEDIA=worker here and in every daphne process.")
        if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError("The media worker needs the Redis channel layer: set REDIS_URL.")
        if not 0 <= index < settings.PLENUM_MEDIA_WORKERS:
            raise CommandError(
                f"--index must be from 0 to {settings.PLENUM_MEDIA_WORKERS - 1} "
                f"(PLENUM_MEDIA_WORKERS={settings.PLENUM_MEDIA_WORKERS})."
            )
        self.index = index
        asyncio.run(worker.serve(commands.LOCAL, index, ready=self._ready))

    def _ready(self):
        self.stdout.write(
            f"media worker {self.index} of {settings.PLENUM_MEDIA_WORKERS} reading channel {groups.media_worker(self.index)}"
        )
        self.stdout.flush()
