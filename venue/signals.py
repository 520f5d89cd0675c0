"""The signals of the ground floor. Receivers are connected in their app's `ready()`.

heartbeat(process: str, starting: bool, alone: bool)
    Sent in a database thread by this process's fan-out hub when it starts (`starting`) and
    every PLENUM_HEARTBEAT_SECONDS after. `process` is the hub's name, the one a socket is
    registered under; `alone` is true where no other process can be serving the venue (the
    in-memory channel layer). Presence keeps the list of live processes and closes the sockets
    of those that stopped beating (rooms.presence).
"""

from django.dispatch import Signal

heartbeat = Signal()
