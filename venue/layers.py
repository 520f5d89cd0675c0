"""The channel layers, each a little cheaper for a join storm than the one it extends.

The embedded default's: channels' in-memory layer, with its expiry made cheap.

channels' layer looks at every channel's queue and every group membership for expired entries on
each `receive` and `group_send`. Every socket of the venue waits in `receive` on its own
channel, so a join storm of a thousand sockets walked a thousand queues a thousand times (a
tenth of a connect's cost at 1,000 sockets, growing with the square). Messages expire after
`expiry` seconds and memberships after `group_expiry`; looking for them once a second is as
good as looking every time.

At scale: channels-redis' layer, naming each socket's channel by a counter after the layer's
own random prefix (unique to the process already) instead of a fresh random UUID each: reading
the system's random source was a few per cent of a join storm's event loop.
"""

import itertools
import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer

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


class RedisChannelLayer(ChannelsRedisChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._numbers = itertools.count(1)

    async def new_channel(self, prefix="specific"):
        # `client_prefix` is random per layer (per process); within it, a number is unique.
        return f"{prefix}.{self.client_prefix}!{next(self._numbers)}"
