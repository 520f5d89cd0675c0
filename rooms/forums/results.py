"""A forum's results: frozen as numbered versions when the phase ends (every correction is a
new one), and presented on the plenary stage, one forum after another, with the facilitator."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agenda import state
from agenda.models import Phase
from rooms.forums.view import forum_of, publish_overview
from rooms.models import (
    BoardEntry,
    BoardSection,
    ResultVersion,
    Room,
    RoomKind,
    StageMode,
    StageSeat,
    Upload,
)
from rooms.plenary import stage
from rooms.plenary import view as plenary
from venue.errors import Refused
from venue.permissions import require_stage_manager


def snapshot_of(room):
    entries = BoardEntry.objects.filter(room=room, removed_at=None).order_by("section", "position", "pk")
    return {
        "title": room.name,
        "facilitator": room.facilitator.display_name if room.facilitator else "",
        "sections": [
            {"key": key, "entries": [e.text for e in entries if e.section == key]}
            for key in BoardSection.values
        ],
        "uploads": [
            {"id": u.pk, "title": u.title, "kind": u.kind}
            for u in Upload.objects.filter(room=room, removed_at=None)
        ],
    }


def _new_version(room, by):
    number = (ResultVersion.objects.filter(room=room).aggregate(n=Max("number"))["n"] or 0) + 1
    return ResultVersion.objects.create(room=room, number=number, content=snapshot_of(room), submitted_by=by)


def freeze(conference_id, *, by=None):
    """Called when the forum phase ends: each forum's board becomes a submitted version."""
    for room in Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).select_related("facilitator"):
        _new_version(room, by)


def refreeze_if_submitted(room, by):
    """A correction after the phase: the facilitator's edit becomes a new version (all are kept)."""
    if state.phase_now(room.conference_id) != Phase.FORUMS and ResultVersion.objects.filter(room=room).exists():
        _new_version(room, by)


def present(conference_id, room_id, *, by):
    """Put one forum's newest results on the stage, with its facilitator on stage to present."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        room = forum_of(conference_id, room_id)
        result = ResultVersion.objects.filter(room=room).order_by("-number").first()
        if result is None:
            raise Refused("no_results", "This forum has not submitted results yet.")
        if state.phase_now(conference_id) == Phase.FORUMS:
            raise Refused("phase_open", "End the forum phase before presenting its results.")
        previous = stage.current_display(conference_id)
        # Who comes onto the stage and who leaves it: the media side follows these (commands).
        result_seated, result_unseated = [], []
        if previous is not None and previous.result_id:
            old_room = previous.result.room
            if old_room.facilitator_id and old_room.facilitator_id != room.facilitator_id:
                StageSeat.objects.filter(conference_id=conference_id, person_id=old_room.facilitator_id).delete()
                result_unseated.append(old_room.facilitator_id)
        stage.show_on_stage(conference_id, StageMode.RESULTS, by=by, result=result)
        if room.facilitator_id:
            StageSeat.objects.get_or_create(conference_id=conference_id, person_id=room.facilitator_id,
                                            defaults={"invited_by": by})
            result_seated.append(room.facilitator_id)
        ResultVersion.objects.filter(pk=result.pk, presented_at=None).update(presented_at=timezone.now())
        plenary.changed(conference_id, "stage", "hands")
        transaction.on_commit(lambda: publish_overview(conference_id))
    result.seated, result.unseated = result_seated, result_unseated
    return result


def step(conference_id, direction, *, by):
    """Next or previous forum's results on the stage, in the forums' order."""
    require_stage_manager(by, conference_id)
    forums = list(Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).order_by("order").values_list("pk", flat=True))
    display = stage.current_display(conference_id)
    current = display.result.room_id if display is not None and display.result_id and display.mode == StageMode.RESULTS else None
    if current is None:
        index = 0 if direction == "next" else len(forums) - 1
    else:
        index = forums.index(current) + (1 if direction == "next" else -1)
    if not 0 <= index < len(forums):
        raise Refused("no_more_forums", "There is no further forum to present.")
    return present(conference_id, forums[index], by=by)


def on_item_ended(sender, item, **kwargs):
    """The forum phase is over: each forum's board is frozen as a submitted version."""
    if item.phase == Phase.FORUMS:
        freeze(item.conference_id)


