"""The stage: who is on it, what it shows, announcements, countdowns and slides."""

import datetime
import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from rooms import checks
from rooms.media.policy import STAGE_ROLES
from rooms.models import Announcement, Hand, Room, StageDisplay, StageMode, StageSeat, UploadKind
from rooms.plenary import view as plenary
from venue import render
from venue.errors import Refused
from venue.models import Person
from venue.permissions import find, require_moderator, require_stage_manager

MAX_ON_STAGE = 6
MAX_COUNTDOWN_MINUTES = 240


def clear_for_next_item(conference_id):
    """A new item begins on a stage of its own: the last item's question, poll results, forum
    results, slide or announcement leave it (a running countdown stays), and so does everyone
    who was invited up for it. Returns the people whose media must follow (rooms.media)."""
    StageDisplay.objects.filter(conference_id=conference_id).exclude(mode=StageMode.ITEM).update(
        mode=StageMode.ITEM, text="", question=None, poll=None, result=None, updated_at=timezone.now()
    )
    seats = StageSeat.objects.filter(conference_id=conference_id)
    # A speaker's role lets them publish with or without a seat: telling the SFU would silence them.
    unseated = list(seats.exclude(person__role__in=STAGE_ROLES).values_list("person_id", flat=True))
    seats.delete()
    return unseated


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
    context = {"announcement": announcement}
    # A room's announcement reaches the people in that room (and the console); the rest, everyone.
    render.broadcast(announcement.conference_id, ("plenary/_announcement.html",), context,
                     room_id=announcement.room_id)


def put_slide(conference_id, data, *, by, page=1):
    """Show an image, or one page of a PDF, on the stage. `data` is the uploaded file's bytes."""
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


def set_media_last_n(conference_id, n, *, by):
    """Cameras for the audience only of the last `n` speakers (0: of everyone on the stage)."""
    require_stage_manager(by, conference_id)
    if not 0 <= n <= MAX_ON_STAGE:
        raise Refused("invalid_field", f"Choose from 0 (everyone) to {MAX_ON_STAGE}.")
    with transaction.atomic():
        display = _display(conference_id)
        display.media_last_n = n
        display.save(update_fields=["media_last_n"])
        plenary.changed(conference_id, "stage")
    return display


def on_item_started(sender, item, **kwargs):
    # Who had to leave the stage: the media side follows in `commands.on_item_started_by`.
    item.unseated = clear_for_next_item(item.conference_id)
