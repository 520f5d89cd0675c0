"""Changes to the live agenda: each checks permission, persists, and only then announces.

These are plain functions, called by the WebSocket commands and by tests alike.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agenda import announce
from agenda.machine import IllegalTransition, target_state
from agenda.models import AgendaItem, ItemState, Phase
from venue.errors import Refused
from venue.models import Conference


def _check_may_run(conference_id, by):
    if by.conference_id != conference_id or not by.may_run_agenda:
        raise Refused("forbidden", "Only the moderator may run the agenda.")


def _live_item(conference_id):
    return AgendaItem.objects.filter(conference_id=conference_id, state=ItemState.LIVE).first()


def _transition(item, action, now):
    item.state = target_state(item.state, action)
    if action == "start":
        # A new item starts with an empty queue and a stage of its own: hands raised for the
        # last one are stale, and so is what the last one showed.
        from rooms import stage

        stage.lower_all_hands(item.conference_id)
        item.unseated = stage.clear_for_next_item(item.conference_id)
    else:
        from rooms import qa

        qa.item_ended(item)
    if item.phase == Phase.BREAK and action == "end":
        # The break is over: the standing tables empty (the next break starts afresh).
        from rooms import lounge

        lounge.clear(item.conference_id)
    if item.phase == Phase.FORUMS:
        from rooms import forums

        if action == "start":
            # Whoever chose a forum in advance is seated in it as the phase opens.
            forums.forum_phase_started(item.conference_id)
        else:
            # Leaving the forums freezes each forum's results as a submitted version.
            forums.forum_phase_ended(item.conference_id)
    if action == "start":
        item.started_at = now
    else:
        item.ended_at = now
    item.save(update_fields=["state", "started_at", "ended_at"])


def _item(conference_id, item_id):
    item = AgendaItem.objects.filter(conference_id=conference_id, pk=item_id).first()
    if item is None:
        raise Refused("not_found", "There is no such agenda item in this conference.")
    return item


def _bump(conference_id):
    Conference.objects.filter(pk=conference_id).update(state_version=F("state_version") + 1)


def _changed(conference_id):
    # Announced only after the transaction has committed: a client never sees unsaved state.
    transaction.on_commit(lambda: announce.state_changed(conference_id))


def start(conference_id, item_id, *, by):
    """Start one scheduled item; refused while another item is live."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        item = _item(conference_id, item_id)
        live = _live_item(conference_id)
        if live is not None and live.pk != item.pk:
            raise IllegalTransition(
                "another_item_live", f"“{live.title}” is still live; end it first or use next."
            )
        _transition(item, "start", timezone.now())
        _bump(conference_id)
        _changed(conference_id)
    return item


def end(conference_id, *, by):
    """End the live item; the venue is then between items until the next one starts."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        live = _live_item(conference_id)
        if live is None:
            raise IllegalTransition("nothing_live", "No item is live.")
        _transition(live, "end", timezone.now())
        _bump(conference_id)
        _changed(conference_id)
    return live


def advance(conference_id, *, by):
    """End the live item (if any) and start the next scheduled one, as one step."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        now = timezone.now()
        live = _live_item(conference_id)
        following = AgendaItem.objects.filter(
            conference_id=conference_id, state=ItemState.SCHEDULED
        )
        # "Next" means after the live item, or after the last finished one between items.
        anchor = live or AgendaItem.objects.filter(
            conference_id=conference_id, state=ItemState.DONE
        ).order_by("-order").first()
        if anchor is not None:
            following = following.filter(order__gt=anchor.order)
        upcoming = following.order_by("order").first()
        if upcoming is None:
            raise IllegalTransition("agenda_finished", "There is no further scheduled item.")
        if live is not None:
            _transition(live, "end", now)
        _transition(upcoming, "start", now)
        _bump(conference_id)
        _changed(conference_id)
    return upcoming


def set_question_mode(conference_id, mode, *, by):
    """Open, pre-moderate or close the live item's questions (the moderation's switch)."""
    from rooms import plenary

    if by.conference_id != conference_id or not by.may_moderate:
        raise Refused("forbidden", "Only the moderation may do that.")
    with transaction.atomic():
        live = _live_item(conference_id)
        if live is None:
            raise IllegalTransition("nothing_live", "No item is live.")
        live.question_mode = mode
        live.save(update_fields=["question_mode"])
        plenary.changed(conference_id, "questions")
        _changed(conference_id)
    return live
