"""The signals of the ground floor. Receivers are connected in their app's `ready()`.

heartbeat(process: str, starting: bool, alone: bool)
    Sent in a database thread by this process's fan-out hub when it starts (`starting`) and
    every PLENUM_HEARTBEAT_SECONDS after. `process` is the hub's name, the one a socket is
    registered under; `alone` is true where no other process can be serving the venue (the
    in-memory channel layer). Presence keeps the list of live processes and closes the sockets
    of those that stopped beating (rooms.presence).

access_revoked(conference_id: int, person_ids: list[int])
    Sent after the commit that revoked these people (one by one, or everyone who joined
    through a revoked invite link). Their open sockets must close in every process.

person_erased(conference_id: int, person_ids: list[int])
    Sent inside the transaction that erased these people (`venue.erasure`): their rows are
    tombstones without a name now. The floors above forget what of theirs still names them
    (attendance, questions) in the same transaction; counts stay.
"""

from django.dispatch import Signal

heartbeat = Signal()
access_revoked = Signal()
person_erased = Signal()
