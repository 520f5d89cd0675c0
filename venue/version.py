"""The conference's state version: every change of live state bumps it in its own transaction.

Caches of rendered frames (the reconnect snapshot, place frames) are keyed by it, and a
placement carries it, so that a process can tell a frame rendered for the current state from
an older one without another query.
"""

from django.db.models import F

from venue.models import Conference


def bump(conference_id):
    """Call inside the transaction that changes live state."""
    Conference.objects.filter(pk=conference_id).update(state_version=F("state_version") + 1)


def current(conference_id):
    return Conference.objects.values_list("state_version", flat=True).get(pk=conference_id)
