"""The agenda's state machine: the one table of legal transitions and the phase they imply.

    scheduled --start--> live --end--> done

At most one item is live per conference. "next" is "end the live item, start the next
scheduled one" as one step. Everything else is illegal and raises IllegalTransition.
"""

from agenda.models import ItemState, Phase
from venue.errors import Refused

TRANSITIONS = {
    (ItemState.SCHEDULED, "start"): ItemState.LIVE,
    (ItemState.LIVE, "end"): ItemState.DONE,
}


class IllegalTransition(Refused):
    """A transition the table does not allow."""


def target_state(state, action):
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(
            f"item_{state}",
            f"An item that is {state} cannot be {action}ed.",
        ) from None


def phase_of(live_item):
    """The day's phase follows from the live item alone; no live item means the venue is closed."""
    if live_item is None:
        return Phase.CLOSED
    return Phase(live_item.phase)
