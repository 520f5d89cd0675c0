"""The conference's state version: every change of live state bumps it in its own transaction.

Caches of rendered frames (the reconnect snapshot, place frames) are keyed by it, and a
placement carries it, so that a process can tell a frame rendered for the current state from
an older one without another query.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import F

from venue.models import Conference
from venue.prepared import Prepared

# (conference id, version) while a `pinned` block runs; `shared` reads keyed by it.
_pinned = ContextVar("plenum_pinned_version", default=None)
_shared = {}
_SHARED_LIMIT = 256


def bump(conference_id):
    """Call inside the transaction that changes live state."""
    Conference.objects.filter(pk=conference_id).update(state_version=F("state_version") + 1)


# Read by every connecting socket and every cached frame (see venue/prepared.py).
_current = Prepared(lambda conference: Conference.objects.filter(pk=conference).values_list("state_version"), conference=int)


def current(conference_id):
    found = _current.first(conference=conference_id)
    if found is None:
        raise Conference.DoesNotExist(f"no conference {conference_id}")
    return found


def seen(conference_id):
    """The version a `pinned` block of this conference runs at, or else the current one."""
    pin = _pinned.get()
    if pin is not None and pin[0] == conference_id:
        return pin[1]
    return current(conference_id)


@contextmanager
def pinned(conference_id, state_version=None):
    """Within the block, `shared` reads of this conference are taken from what another block
    with the same state version read: a join storm's thousand connects read the live item once,
    not a thousand times. Yields the version (read once, at the start, unless the caller has
    just read it)."""
    if state_version is None:
        state_version = current(conference_id)
    token = _pinned.set((conference_id, state_version))
    try:
        yield state_version
    finally:
        _pinned.reset(token)


def shared(conference_id, name, read):
    """`read()`, or what it returned for this conference and state version already (only inside
    `pinned`; elsewhere it just reads). The value is shared: never change it."""
    pin = _pinned.get()
    if pin is None or pin[0] != conference_id:
        return read()
    key = (*pin, name)
    if key not in _shared:
        if len(_shared) >= _SHARED_LIMIT:
            _shared.clear()
        # Read after the version: at worst a newer state is kept under an older version, never
        # an older state under a newer one.
        _shared[key] = read()
    return _shared[key]
