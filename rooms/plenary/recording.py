"""Recording the plenary: the moderator starts and stops it for the live plenary item; the
SFU (rooms.media.sfu) writes each stage publisher's file. Forums and tables are never recorded:
only a plenary item can be.

Stored first, with the stage's "Aufnahme" mark for everyone; then the media workers follow.
"""

from django.db import transaction
from django.utils import timezone

from agenda import state
from agenda.models import Phase
from rooms.models import ItemRecording, RecordingFile
from rooms.plenary import view as plenary
from venue.errors import Refused
from venue.permissions import find, require_stage_manager


def running(conference_id):
    return ItemRecording.objects.filter(conference_id=conference_id, stopped_at=None).first()


def start(conference_id, *, by):
    require_stage_manager(by, conference_id)
    item = state.live_item(conference_id)
    if item is None or item.phase != Phase.PLENARY:
        raise Refused("not_plenary", "Only a live plenary item can be recorded.")
    with transaction.atomic():
        if ItemRecording.objects.select_for_update().filter(conference_id=conference_id, stopped_at=None).exists():
            raise Refused("already_recording", "The plenary is being recorded already.")
        recording = ItemRecording.objects.create(conference_id=conference_id, item=item, started_by=by)
        plenary.changed(conference_id, "stage")
    return recording


def stop(conference_id, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        stopped = ItemRecording.objects.filter(conference_id=conference_id, stopped_at=None).update(stopped_at=timezone.now())
        if not stopped:
            raise Refused("not_recording", "The plenary is not being recorded.")
        plenary.changed(conference_id, "stage")


def stop_with_item(conference_id):
    """When the item ends its recording ends too (the media side follows in commands)."""
    return ItemRecording.objects.filter(conference_id=conference_id, stopped_at=None).update(stopped_at=timezone.now())


def files(conference_id):
    """Every recorded file of the conference, by item, for the organizers."""
    return list(
        RecordingFile.objects.filter(recording__conference_id=conference_id)
        .select_related("recording__item")
        .order_by("recording__item__order", "recording__started_at", "offset_seconds")
    )


def choose(conference_id, file_id, documented, *, by):
    """The organizer puts a file on the documentation page, or takes it off."""
    if by.conference_id != conference_id or by.role != "organizer":
        raise Refused("forbidden", "Only organizers choose what the documentation shows.")
    chosen = find(RecordingFile, conference_id, file_id, path="recording__conference_id",
                  message="There is no such recording.")
    chosen.documented = documented
    chosen.save(update_fields=["documented"])
    return chosen


def attach_documented(items):
    """Sets `recorded` (the documented files) on each item."""
    by_item = {}
    for recorded in RecordingFile.objects.filter(recording__item__in=items, documented=True).select_related("recording"):
        by_item.setdefault(recorded.recording.item_id, []).append(recorded)
    for item in items:
        item.recorded = by_item.get(item.pk, [])
    return items


def on_item_ended(sender, item, **kwargs):
    stop_with_item(item.conference_id)
