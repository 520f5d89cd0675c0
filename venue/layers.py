"""The embedded default's channel layer: channels' in-memory layer, with its expiry made cheap.

channels' layer looks at every channel's queue and every group membership for expired entries on
each `receive` and `group_send`. Every socket of the venue waits in `receive` on its own
channel, so a join storm of a thousand sockets walked a thousand queues a thousand times (a
tenth of a connect's cost at 1,000 sockets, growing with the square). Messages expire after
`expiry` seconds and memberships after `group_expiry`; looking for them once a second is as
good as looking every time.
"""

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

CLEAN_EVERY_SECONDS = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        super()._clean_expired()
