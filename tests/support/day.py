"""A scripted day for attendance tests: a clock that starts at the welcome, and agenda items that
ran at given minutes of it."""

import datetime

from agenda.models import ItemState

# 29 November 2021: Berlin is UTC+1, so 09:30 UTC is 10:30 on the conference's clock.
T0 = datetime.datetime(2021, 11, 29, 9, 30, tzinfo=datetime.UTC)


def at(minutes, seconds=0):
    """The moment `minutes` (and `seconds`) after the welcome began."""
    return T0 + datetime.timedelta(minutes=minutes, seconds=seconds)


def ran(*items_and_starts, minutes=20):
    """Mark each (item, start minute) done, having run `minutes` from its start."""
    for item, start in items_and_starts:
        item.state, item.started_at, item.ended_at = ItemState.DONE, at(start), at(start + minutes)
        item.save()
