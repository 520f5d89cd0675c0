"""The stage and who may speak: hands, stage seats, what the stage shows, announcements, countdowns."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from rooms import plenary
from rooms.models import Announcement, Hand, Room, RoomKind, StageDisplay, StageMode, StageSeat
from rooms.permissions import find, require_moderator, require_stage_manager
from venue.errors import Refused
from venue.models import Person

MAX_ON_STAGE = 6
MAX_COUNTDOWN_MINUTES = 240


def raise_hand(person, room_id=None):
    """Ask to speak: in the plenary (`room_id` empty or the plenary) or in the forum one is in."""
    room = Room.objects.filter(pk=room_id, conference_id=person.conference_id, kind=RoomKind.FORUM).first() if room_id else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                Hand.objects.create(conference_id=person.conference_id, person=person, room=room)
        except IntegrityError:
            raise Refused("hand_already_raised", "Your hand is already raised.") from None
        _hands_changed(person.conference_id, room)


def _hands_changed(conference_id, room):
    if room is None:
        plenary.changed(conference_id, "hands")
        return
    from rooms import forums

    plenary.changed(conference_id)
    transaction.on_commit(lambda: forums.announce_hands(conference_id, room.pk))


def clear_for_next_item(conference_id):
    """A new item begins on a stage of its own: the last item's question, poll results, forum
    results, slide or announcement leave it (a running countdown stays), and so does everyone
    who was invited up for it. Returns the people whose media must follow (rooms.media)."""
    from rooms.media.policy import STAGE_ROLES

    StageDisplay.objects.filter(conference_id=conference_id).exclude(mode=StageMode.ITEM).update(
        mode=StageMode.ITEM, text="", question=None, poll=None, result=None, updated_at=timezone.now()
    )
    seats = StageSeat.objects.filter(conference_id=conference_id)
    # A speaker's role lets them publish with or without a seat: telling the SFU would silence them.
    unseated = list(seats.exclude(person__role__in=STAGE_ROLES).values_list("person_id", flat=True))
    seats.delete()
    return unseated


def lower_all_hands(conference_id):
    """Every raised hand goes down (a new agenda item); each person's page is told."""
    import json

    from rooms import fanout, groups

    raised = list(Hand.objects.filter(conference_id=conference_id, lowered_at=None).values_list("person_id", flat=True))
    if not raised:
        return
    Hand.objects.filter(conference_id=conference_id, lowered_at=None).update(lowered_at=timezone.now())
    message = json.dumps({"type": "hand", "hand": False})

    def tell():
        for person_id in raised:
            fanout.publish_sync(groups.person(person_id), message)

    transaction.on_commit(tell)


def lower_hand(person, *, by=None):
    """Lower one's own hand, or someone else's: the moderation anywhere, a facilitator in their forum."""
    by = by or person
    with transaction.atomic():
        hand = Hand.objects.filter(person=person, lowered_at=None).select_related("room").first()
        if hand is None:
            raise Refused("hand_not_raised", "That hand is not raised.")
        if by.pk != person.pk:
            leads_it = hand.room is not None and hand.room.facilitator_id == by.pk
            if not leads_it:
                require_moderator(by, person.conference_id)
        Hand.objects.filter(pk=hand.pk).update(lowered_at=timezone.now())
        _hands_changed(person.conference_id, hand.room)


def invite_to_stage(conference_id, person_id, *, by):
    require_stage_manager(by, conference_id)
    person = find(Person, conference_id, person_id, message="There is no such person here.")
    with transaction.atomic():
        if StageSeat.objects.filter(conference_id=conference_id).count() >= MAX_ON_STAGE:
            raise Refused("stage_full", f"At most {MAX_ON_STAGE} people fit on the stage.")
        seat, created = StageSeat.objects.get_or_create(
            conference_id=conference_id, person=person, defaults={"invited_by": by}
        )
        if not created:
            raise Refused("already_on_stage", f"{person.display_name} is already on the stage.")
        # Whoever comes on stage has been heard: their raised hand goes down.
        Hand.objects.filter(person=person, lowered_at=None).update(lowered_at=timezone.now())
        plenary.changed(conference_id, "stage", "hands")
    return seat


def remove_from_stage(conference_id, person_id, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        removed, _kinds = StageSeat.objects.filter(conference_id=conference_id, person_id=person_id).delete()
        if not removed:
            raise Refused("not_on_stage", "That person is not on the stage.")
        plenary.changed(conference_id, "stage", "hands")


def _display(conference_id):
    display, _created = StageDisplay.objects.select_for_update().get_or_create(conference_id=conference_id)
    return display


def current_display(conference_id):
    return StageDisplay.objects.filter(conference_id=conference_id).select_related("result__room").first()


def show_on_stage(conference_id, mode, *, by, text="", question=None, poll=None, result=None):
    """Put something on the stage; `item` goes back to showing the live item."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        display = _display(conference_id)
        display.mode = mode
        display.text = text if mode == StageMode.ANNOUNCEMENT else ""
        display.question = question if mode == StageMode.QUESTION else None
        display.poll = poll if mode == StageMode.POLL else None
        display.result = result if mode == StageMode.RESULTS else None
        display.updated_at = timezone.now()
        display.save()
        plenary.changed(conference_id, "stage")
    return display


def start_countdown(conference_id, minutes, label, *, by):
    require_stage_manager(by, conference_id)
    if not 0 < minutes <= MAX_COUNTDOWN_MINUTES:
        raise Refused("invalid_field", f"A countdown lasts 1 to {MAX_COUNTDOWN_MINUTES} minutes.")
    with transaction.atomic():
        display = _display(conference_id)
        display.countdown_label = label
        display.countdown_ends_at = timezone.now() + datetime.timedelta(minutes=minutes)
        display.save(update_fields=["countdown_label", "countdown_ends_at"])
        plenary.changed(conference_id, "stage")
    return display


def stop_countdown(conference_id, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        display = _display(conference_id)
        if display.countdown_ends_at is None:
            raise Refused("no_countdown", "No countdown is running.")
        display.countdown_label, display.countdown_ends_at = "", None
        display.save(update_fields=["countdown_label", "countdown_ends_at"])
        plenary.changed(conference_id, "stage")


def announce(conference_id, text, *, by, room_id=None):
    """An announcement to everyone, or to the people in one room."""
    require_moderator(by, conference_id)
    room = find(Room, conference_id, room_id, message="There is no such room here.") if room_id is not None else None
    with transaction.atomic():
        announcement = Announcement.objects.create(conference_id=conference_id, room=room, text=text, by=by)
        transaction.on_commit(lambda: _publish_announcement(announcement))
    return announcement


def _publish_announcement(announcement):
    from rooms import render

    context = {"announcement": announcement}
    # A room's announcement reaches the people in that room (and the console); the rest, everyone.
    render.broadcast(announcement.conference_id, ("rooms/_announcement.html",), context,
                     room_id=announcement.room_id)


def put_slide(conference_id, data, *, by, page=1):
    """Show an image, or one page of a PDF, on the stage. `data` is the uploaded file's bytes."""
    import uuid

    from django.core.files.base import ContentFile

    from rooms import checks
    from rooms.models import UploadKind

    require_stage_manager(by, conference_id)
    kind = checks.check(data)
    if kind == UploadKind.PDF:
        data, kind = checks.pdf_page_as_png(data, page), UploadKind.PNG
    extension = "png" if kind == UploadKind.PNG else "jpg"
    with transaction.atomic():
        display = _display(conference_id)
        display.slide.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(data), save=False)
        display.mode = StageMode.SLIDE
        display.question = display.poll = display.result = None
        display.text = ""
        display.updated_at = timezone.now()
        display.save()
        plenary.changed(conference_id, "stage")
    return display
