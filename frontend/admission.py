"""The door of one process in a join storm: how many sockets join at once, and when the rest come back.

A joining socket costs a few database round trips and renders (consumers.VenueConsumer.connect).
Past `PLENUM_JOIN_CONCURRENCY` joins in progress, a new socket is accepted and closed at once
with 1013 ("try again later") and a `busy` error that says in how many seconds; the page waits
that long plus jitter (frontend/static/plenum/retry.js). That is cheap for the process and
clear for the page, where a full listen queue or a handshake timeout would reset the socket.
"""

import math
import time
from collections import deque

from django.conf import settings

# How long the rate of finished joins is averaged over, to tell the waiting when to come back.
WINDOW_SECONDS = 5.0
# Before any join has finished in the window, assume this many per second.
ASSUMED_RATE = 50.0
MAX_RETRY_SECONDS = 30
# A join that failed (Redis away, say): the page comes back after about this long.
RETRY_AFTER_FAILURE = 2


class Door:
    def __init__(self):
        self.joining = 0
        self.finished = deque()

    def enter(self):
        """None if the socket may join now; else in how many seconds it should try again."""
        if self.joining >= settings.PLENUM_JOIN_CONCURRENCY:
            return self.retry_after()
        self.joining += 1
        return None

    def done(self):
        self.joining -= 1
        now = time.monotonic()
        self.finished.append(now)
        while self.finished and self.finished[0] < now - WINDOW_SECONDS:
            self.finished.popleft()

    def retry_after(self):
        """Seconds until the joins in progress (and as many again, coming back) are through."""
        now = time.monotonic()
        while self.finished and self.finished[0] < now - WINDOW_SECONDS:
            self.finished.popleft()
        rate = max(len(self.finished) / WINDOW_SECONDS, ASSUMED_RATE if not self.finished else 1.0)
        return max(1, min(MAX_RETRY_SECONDS, math.ceil(2 * self.joining / rate)))


door = Door()
