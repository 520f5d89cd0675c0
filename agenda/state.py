"""The state of the day, read in one place: the items, the live one, the phase, what comes next."""

from dataclasses import dataclass

from agenda.machine import phase_of
from agenda.models import AgendaItem, ItemState, QuestionMode
from venue import version
from venue.models import Conference


@dataclass
class DayState:
    conference: Conference
    items: list
    live: AgendaItem | None
    phase: str
    next_item: AgendaItem | None

    def as_context(self):
        return {
            "conference": self.conference,
            "items": self.items,
            "live": self.live,
            "phase": self.phase,
            "next_item": self.next_item,
            "version": self.conference.state_version,
            "question_modes": QuestionMode.choices,
        }


def load(conference_id):
    conference = Conference.objects.get(pk=conference_id)
    items = AgendaItem.with_speakers(list(
        AgendaItem.objects.filter(conference=conference).select_related("room").order_by("order")
    ))
    live = next((item for item in items if item.state == ItemState.LIVE), None)
    anchor = live.order if live else max(
        (i.order for i in items if i.state == ItemState.DONE), default=-1
    )
    next_item = next(
        (i for i in items if i.state == ItemState.SCHEDULED and i.order > anchor), None
    )
    return DayState(conference=conference, items=items, live=live, phase=phase_of(live), next_item=next_item)


def live_item(conference_id):
    """The live item, or None between items (one query; `load` reads the whole day)."""
    return version.shared(
        conference_id, "live_item",
        lambda: AgendaItem.objects.filter(conference_id=conference_id, state=ItemState.LIVE).first(),
    )


def last_finished(conference_id):
    """The item that ended last, or None before the first has ended."""
    return version.shared(
        conference_id, "last_finished",
        lambda: AgendaItem.objects.filter(conference_id=conference_id, state=ItemState.DONE).order_by("-order").first(),
    )


def phase_now(conference_id):
    """Where everybody is (agenda.models.Phase), with one query."""
    return phase_of(live_item(conference_id))
