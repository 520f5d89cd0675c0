"""Changes to the live agenda: each checks permission, persists, and only then tells the places (agenda.signals).

These are plain functions, called by the WebSocket commands and by tests alike.
"""

from django.db import transaction
from django.utils import timezone

from agenda import signals, state
from agenda.machine import IllegalTransition, target_state
from agenda.models import AgendaItem, ItemState
from venue import version
from venue.errors import Refused
from venue.models import Conference


def _check_may_run(conference_id, by):
    if by.conference_id != conference_id or not by.may_run_agenda:
        raise Refused("forbidden", "Only the moderator may run the agenda.")


def _transition(item, action, now):
    item.state = target_state(item.state, action)
    if action == "start":
        item.started_at = now
        signals.item_started.send(sender=AgendaItem, item=item)
    else:
        item.ended_at = now
        signals.item_ended.send(sender=AgendaItem, item=item)
    item.save(update_fields=["state", "started_at", "ended_at"])


def _item(conference_id, item_id):
    item = AgendaItem.objects.filter(conference_id=conference_id, pk=item_id).first()
    if item is None:
        raise Refused("not_found", "There is no such agenda item in this conference.")
    return item


def _changed(conference_id):
    # Within the transaction of the change; the places hear of it only once it has committed:
    # a client never sees unsaved state.
    version.bump(conference_id)
    transaction.on_commit(lambda: signals.day_changed.send(sender=AgendaItem, conference_id=conference_id))


def republish(conference_id):
    """Every page gets the day again though no item changed: the closing note links the
    documentation once it is published, and takes the link away when it is withdrawn."""
    with transaction.atomic():
        _changed(conference_id)


def start(conference_id, item_id, *, by):
    """Start one scheduled item; refused while another item is live."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        item = _item(conference_id, item_id)
        live = state.live_item(conference_id)
        if live is not None and live.pk != item.pk:
            raise IllegalTransition(
                "another_item_live", f"“{live.title}” is still live; end it first or use next."
            )
        _transition(item, "start", timezone.now())
        _changed(conference_id)
    return item


def end(conference_id, *, by):
    """End the live item; the venue is then between items until the next one starts."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        live = state.live_item(conference_id)
        if live is None:
            raise IllegalTransition("nothing_live", "No item is live.")
        _transition(live, "end", timezone.now())
        _changed(conference_id)
    return live


def advance(conference_id, *, by):
    """End the live item (if any) and start the next scheduled one, as one step."""
    _check_may_run(conference_id, by)
    with transaction.atomic():
        Conference.objects.select_for_update().get(pk=conference_id)
        now = timezone.now()
        live = state.live_item(conference_id)
        following = AgendaItem.objects.filter(
            conference_id=conference_id, state=ItemState.SCHEDULED
        )
        # "Next" means after the live item, or after the last finished one between items.
        anchor = live or state.last_finished(conference_id)
        if anchor is not None:
            following = following.filter(order__gt=anchor.order)
        upcoming = following.order_by("order").first()
        if upcoming is None:
            raise IllegalTransition("agenda_finished", "There is no further scheduled item.")
        if live is not None:
            _transition(live, "end", now)
        _transition(upcoming, "start", now)
        _changed(conference_id)
    return upcoming


def set_question_mode(conference_id, mode, *, by):
    """Open, pre-moderate or close the live item's questions (the moderation's switch)."""
    if by.conference_id != conference_id or not by.may_moderate:
        raise Refused("forbidden", "Only the moderation may do that.")
    with transaction.atomic():
        live = state.live_item(conference_id)
        if live is None:
            raise IllegalTransition("nothing_live", "No item is live.")
        live.question_mode = mode
        live.save(update_fields=["question_mode"])
        _changed(conference_id)
    return live
