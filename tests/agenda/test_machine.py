"""The agenda state machine, driven through the domain functions the console uses."""

import pytest

from agenda import actions, state
from agenda.machine import TRANSITIONS, IllegalTransition, phase_of, target_state
from agenda.models import AgendaItem, ItemState, Phase
from rooms import places
from tests.support.clients import someone
from venue.errors import Refused
from venue.models import Conference, Role


def items(conference):
    return list(AgendaItem.objects.filter(conference=conference).order_by("order"))


def test_the_transition_table_allows_only_start_and_end():
    assert TRANSITIONS == {
        (ItemState.SCHEDULED, "start"): ItemState.LIVE,
        (ItemState.LIVE, "end"): ItemState.DONE,
    }
    for state_ in ItemState:
        for action in ("start", "end"):
            if (state_, action) in TRANSITIONS:
                assert target_state(state_, action) == TRANSITIONS[(state_, action)]
            else:
                with pytest.raises(IllegalTransition):
                    target_state(state_, action)


def test_the_day_begins_closed_and_next_starts_the_welcome(conference, moderator):
    assert state.load(conference.pk).phase == Phase.CLOSED
    started = actions.advance(conference.pk, by=moderator)
    assert started.title == "Begrüßung"
    day = state.load(conference.pk)
    assert day.live.pk == started.pk
    assert day.phase == Phase.PLENARY
    assert places.room_for_phase(conference.pk, day).name == "Plenum"
    assert Conference.objects.get(pk=conference.pk).state_version == 1


def test_next_ends_the_live_item_and_starts_the_following_one(conference, moderator):
    first = actions.advance(conference.pk, by=moderator)
    second = actions.advance(conference.pk, by=moderator)
    first.refresh_from_db()
    assert first.state == ItemState.DONE and first.ended_at is not None
    assert second.state == ItemState.LIVE and second.order == first.order + 1
    assert AgendaItem.objects.filter(conference=conference, state=ItemState.LIVE).count() == 1


def test_phases_follow_the_live_item_through_the_whole_day(conference, moderator):
    seen = []
    for _ in items(conference):
        actions.advance(conference.pk, by=moderator)
        seen.append(state.load(conference.pk).phase)
    assert seen == [
        Phase.PLENARY, Phase.PLENARY, Phase.PLENARY, Phase.PLENARY,
        Phase.BREAK, Phase.FORUMS, Phase.PLENARY, Phase.PLENARY, Phase.BREAK,
    ]
    with pytest.raises(IllegalTransition) as refused:
        actions.advance(conference.pk, by=moderator)
    assert refused.value.code == "agenda_finished"
    actions.end(conference.pk, by=moderator)
    assert state.load(conference.pk).phase == Phase.CLOSED


def test_start_picks_any_scheduled_item_and_end_closes_it(conference, moderator):
    panel = items(conference)[3]
    actions.start(conference.pk, panel.pk, by=moderator)
    assert state.load(conference.pk).live.pk == panel.pk
    actions.end(conference.pk, by=moderator)
    day = state.load(conference.pk)
    assert day.live is None and day.phase == Phase.CLOSED
    # "Next" between items continues after the last finished one.
    assert actions.advance(conference.pk, by=moderator).order == panel.order + 1


def test_starting_a_finished_item_is_refused_and_changes_nothing(conference, moderator):
    first = actions.advance(conference.pk, by=moderator)
    actions.end(conference.pk, by=moderator)
    version = Conference.objects.get(pk=conference.pk).state_version
    with pytest.raises(IllegalTransition) as refused:
        actions.start(conference.pk, first.pk, by=moderator)
    assert refused.value.code == "item_done"
    first.refresh_from_db()
    assert first.state == ItemState.DONE
    assert Conference.objects.get(pk=conference.pk).state_version == version


def test_starting_the_live_item_again_is_refused(conference, moderator):
    first = actions.advance(conference.pk, by=moderator)
    with pytest.raises(IllegalTransition) as refused:
        actions.start(conference.pk, first.pk, by=moderator)
    assert refused.value.code == "item_live"


def test_starting_a_second_item_while_one_is_live_is_refused(conference, moderator):
    actions.advance(conference.pk, by=moderator)
    keynote = items(conference)[2]
    with pytest.raises(IllegalTransition) as refused:
        actions.start(conference.pk, keynote.pk, by=moderator)
    assert refused.value.code == "another_item_live"
    keynote.refresh_from_db()
    assert keynote.state == ItemState.SCHEDULED


def test_ending_when_nothing_is_live_is_refused(conference, moderator):
    with pytest.raises(IllegalTransition) as refused:
        actions.end(conference.pk, by=moderator)
    assert refused.value.code == "nothing_live"


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.SPEAKER, Role.FACILITATOR])
def test_only_moderators_and_organizers_may_run_the_agenda(conference, role):
    person = someone(conference, role)
    item = items(conference)[0]
    for attempt in (
        lambda: actions.advance(conference.pk, by=person),
        lambda: actions.start(conference.pk, item.pk, by=person),
        lambda: actions.end(conference.pk, by=person),
    ):
        with pytest.raises(Refused) as refused:
            attempt()
        assert refused.value.code == "forbidden"
    assert state.load(conference.pk).live is None


def test_an_organizer_may_run_the_agenda(conference):
    organizer = someone(conference, Role.ORGANIZER)
    assert actions.advance(conference.pk, by=organizer).title == "Begrüßung"


def test_an_item_of_another_conference_is_not_found(conference, moderator):
    other = Conference.objects.create(slug="other", title="Other", date=conference.date)
    foreign = AgendaItem.objects.create(
        conference=other, order=1, title="Foreign", planned_start=items(conference)[0].planned_start,
        planned_end=items(conference)[0].planned_end,
    )
    with pytest.raises(Refused) as refused:
        actions.start(conference.pk, foreign.pk, by=moderator)
    assert refused.value.code == "not_found"
    with pytest.raises(Refused) as refused:
        actions.start(other.pk, foreign.pk, by=moderator)
    assert refused.value.code == "forbidden"
    foreign.refresh_from_db()
    assert foreign.state == ItemState.SCHEDULED


def test_the_database_keeps_one_live_item_at_a_time(conference):
    from django.db import IntegrityError, transaction

    first, second = items(conference)[:2]
    AgendaItem.objects.filter(pk=first.pk).update(state=ItemState.LIVE)
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.filter(pk=second.pk).update(state=ItemState.LIVE)


def test_phase_of_nothing_live_is_closed():
    assert phase_of(None) == Phase.CLOSED
