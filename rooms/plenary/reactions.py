"""Reactions (applause, heart, laugh, thinking): counted per process, shown twice a second.

A thousand people clapping must not mean a thousand broadcasts: each process adds up what its
sockets sent, and every half second adds the sums to the item's tally in the database and
broadcasts one small "burst" partial with the counts. With several processes the page shows
one burst per process and half second; their sum is the true count.

A reaction is acknowledged only once the tally that counts it is stored (`add` returns a future
for that): what a sender saw acknowledged is never lost, and a failed write is reported to
every sender of that half second instead.
"""

import asyncio
import logging
import time
from collections import Counter, defaultdict, deque

from channels.db import database_sync_to_async
from django.db import transaction
from django.db.models import F

from agenda import state
from rooms.models import ReactionKind, ReactionTally
from venue import render
from venue.errors import Refused

logger = logging.getLogger(__name__)

# Half a second keeps applause feeling live while a thousand clicks still make two frames a second.
FLUSH_SECONDS = 0.5
# Per person: at most this many reactions in this many seconds (a held-down key is not applause).
PERSON_LIMIT = 10
PERSON_WINDOW = 5.0
EMOJI = {
    ReactionKind.APPLAUSE: "👏",
    ReactionKind.HEART: "❤️",
    ReactionKind.LAUGH: "😄",
    ReactionKind.THINKING: "🤔",
}


class Aggregator:
    def __init__(self):
        self.loop = None
        self.counts = defaultdict(Counter)
        # conference id -> the future that the next flush resolves once its tally is stored
        self.stored = {}
        self.recent = defaultdict(deque)
        self.scheduled = False
        self.burst = 0

    def _bind(self):
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            self.loop, self.counts, self.recent, self.scheduled = loop, defaultdict(Counter), defaultdict(deque), False
            self.stored = {}

    def add(self, person, kind):
        self._bind()
        now = time.monotonic()
        sent = self.recent[person.pk]
        while sent and now - sent[0] > PERSON_WINDOW:
            sent.popleft()
        if len(sent) >= PERSON_LIMIT:
            raise Refused("rate_limited", "That is a lot of applause; please wait a moment.")
        sent.append(now)
        self.counts[person.conference_id][kind] += 1
        stored = self.stored.get(person.conference_id)
        if stored is None:
            stored = self.stored[person.conference_id] = self.loop.create_future()
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_later(FLUSH_SECONDS, lambda: asyncio.ensure_future(self.flush()))
        return stored

    async def flush(self):
        self.scheduled = False
        counts, self.counts = self.counts, defaultdict(Counter)
        stored, self.stored = self.stored, {}
        for conference_id, counter in counts.items():
            self.burst += 1
            done = stored.pop(conference_id, None)
            try:
                await database_sync_to_async(record_and_broadcast)(conference_id, dict(counter), self.burst)
            except Exception as error:
                logger.exception("reactions of conference %s could not be stored", conference_id)
                if done is not None and not done.done():
                    done.set_exception(error)
                    done.exception()  # the senders are told; nobody need retrieve it again
            else:
                if done is not None and not done.done():
                    done.set_result(None)
        self.recent = defaultdict(deque, {k: v for k, v in self.recent.items() if v})


def record_and_broadcast(conference_id, counter, burst):
    with transaction.atomic():
        item = state.live_item(conference_id)
        for kind, count in counter.items():
            tally, _created = ReactionTally.objects.get_or_create(conference_id=conference_id, item=item, kind=kind)
            ReactionTally.objects.filter(pk=tally.pk).update(count=F("count") + count)
    shown = [(EMOJI[kind], kind, counter[kind]) for kind in ReactionKind.values if counter.get(kind)]
    # Bursts are not part of the page's state, so they bump no version: a late joiner need not see them.
    render.broadcast(conference_id, ("plenary/_reaction_burst.html",), {"shown": shown, "burst": f"{id(aggregator)}-{burst}"})


aggregator = Aggregator()
