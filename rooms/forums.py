"""The Fachforen: choosing and assigning forums, the results board, freezing and presenting results.

Every change is checked here (membership, capacity, phase, role), persisted, and announced once
committed: the forum's own board to the people in that forum, the overview to the console.
"""

import datetime
from functools import cached_property

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from agenda import state
from agenda.models import AgendaItem, ItemState, Phase
from rooms import assignment, groups, plenary, render
from rooms.models import (
    BoardComment,
    BoardEntry,
    BoardPlusOne,
    BoardSection,
    BoardWriter,
    ForumAssignment,
    ForumChoice,
    ForumSettings,
    Hand,
    ResultVersion,
    Room,
    RoomKind,
    StageMode,
    StageSeat,
    Upload,
)
from rooms.permissions import find, require_moderator, require_stage_manager
from venue.errors import Refused
from venue.models import Person, Role

MAX_CHOICES = 3
MAX_ENTRY_LENGTH = 500
MAX_COMMENT_LENGTH = 300


# --- Reading -------------------------------------------------------------------------------


class ForumView:
    """What a forum page (or the forum choice) shows; loaded lazily."""

    def __init__(self, conference_id, room=None, day=None):
        self.conference_id = conference_id
        self.room = room
        self._day = day

    @cached_property
    def day(self):
        return self._day or state.load(self.conference_id)

    @cached_property
    def settings(self):
        return ForumSettings.objects.filter(conference_id=self.conference_id).first()

    @cached_property
    def ends_at(self):
        if self.settings and self.settings.ends_at:
            return self.settings.ends_at
        live = self.day.live
        if live is not None and live.phase == Phase.FORUMS:
            return live.started_at + (live.planned_end - live.planned_start)
        return None

    @cached_property
    def forums(self):
        rooms = list(
            Room.objects.filter(conference_id=self.conference_id, kind=RoomKind.FORUM)
            .select_related("facilitator")
            .annotate(members=Count("assignments"))
            .order_by("order")
        )
        for room in rooms:
            room.full = room.capacity is not None and room.members >= room.capacity
        return rooms

    @cached_property
    def sections(self):
        if self.room is None:
            return []
        entries = list(
            BoardEntry.objects.filter(room=self.room, removed_at=None)
            .select_related("updated_by")
            .prefetch_related("comments__author")
            .annotate(plus=Count("plus_ones", distinct=True))
        )
        return [
            {"key": key, "label": label, "entries": [e for e in entries if e.section == key]}
            for key, label in BoardSection.choices
        ]

    @cached_property
    def uploads(self):
        if self.room is None:
            return []
        return list(Upload.objects.filter(room=self.room, removed_at=None))

    @cached_property
    def result(self):
        if self.room is None:
            return None
        return ResultVersion.objects.filter(room=self.room).order_by("-number").first()

    @cached_property
    def writers(self):
        if self.room is None:
            return []
        return list(BoardWriter.objects.filter(room=self.room).select_related("person"))

    @cached_property
    def members(self):
        if self.room is None:
            return []
        return list(
            Person.objects.filter(forum_assignment__room=self.room).order_by("display_name")
        )

    @cached_property
    def movable(self):
        """Everyone the moderator may move into a forum, with the forum they are in now."""
        people = list(
            Person.objects.filter(conference_id=self.conference_id, role__in=[Role.PARTICIPANT, Role.SPEAKER], revoked_at=None)
            .select_related("forum_assignment__room").order_by("display_name")
        )
        for person in people:
            assignment = getattr(person, "forum_assignment", None)
            person.forum_name = assignment.room.name if assignment else ""
        return people

    @cached_property
    def hands(self):
        if self.room is None:
            return []
        return list(Hand.objects.filter(room=self.room, lowered_at=None).select_related("person"))

    def context(self):
        return {"forum": self, "forum_room": self.room}


def writers_of(person):
    """The forums whose board this person may edit: their own as facilitator, or as co-writer."""
    facilitated = set(Room.objects.filter(facilitator=person, kind=RoomKind.FORUM).values_list("pk", flat=True))
    named = set(BoardWriter.objects.filter(person=person).values_list("room_id", flat=True))
    return sorted(facilitated | named)


# --- Announcing ----------------------------------------------------------------------------


def _changed(conference_id, room_id, *, board=True, overview=True, placement=False):
    plenary.changed(conference_id)
    transaction.on_commit(lambda: announce(conference_id, room_id, board=board, overview=overview, placement=placement))


def announce(conference_id, room_id, *, board=True, overview=True, placement=False):
    if board and room_id is not None:
        room = Room.objects.get(pk=room_id)
        view = ForumView(conference_id, room)
        # The forum's members see its board; the console sees every board in the overview.
        render.broadcast(conference_id, ("rooms/_forum_board.html",), view.context(),
                         audiences=(groups.PARTICIPANTS,), room_id=room_id)
    if overview:
        announce_overview(conference_id)
    if placement:
        from rooms import places

        from rooms import fanout

        fanout.control_sync(groups.everyone(conference_id), {"kind": "placement", **places.placement(conference_id)})


def announce_hands(conference_id, room_id):
    """A forum's raised hands, to the people in that forum (the facilitator takes them)."""
    view = ForumView(conference_id, Room.objects.get(pk=room_id))
    render.broadcast(conference_id, ("rooms/_forum_hands.html",), view.context(),
                     audiences=(groups.PARTICIPANTS,), room_id=room_id)


def announce_overview(conference_id):
    view = ForumView(conference_id)
    render.broadcast(conference_id, ("agenda/_forums_overview.html",), {"forum": view, "overview": overview(conference_id)},
                     audiences=(groups.CONSOLE,))


def overview(conference_id):
    """Per forum: members, board size, newest result version: the console's live table."""
    forums = list(
        Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM)
        .select_related("facilitator")
        .annotate(
            members=Count("assignments", distinct=True),
        )
        .order_by("order")
    )
    entries = dict(
        BoardEntry.objects.filter(room__in=forums, removed_at=None).values("room").annotate(n=Count("pk")).values_list("room", "n")
    )
    uploads = dict(
        Upload.objects.filter(room__in=forums, removed_at=None).values("room").annotate(n=Count("pk")).values_list("room", "n")
    )
    versions = dict(ResultVersion.objects.filter(room__in=forums).values("room").annotate(n=Max("number")).values_list("room", "n"))
    latest = {}
    for entry in BoardEntry.objects.filter(room__in=forums, removed_at=None).order_by("room", "-updated_at"):
        latest.setdefault(entry.room_id, entry)
    for room in forums:
        room.entry_count = entries.get(room.pk, 0)
        room.upload_count = uploads.get(room.pk, 0)
        room.version = versions.get(room.pk)
        room.latest_entry = latest.get(room.pk)
    return forums


# --- Choosing and assigning ----------------------------------------------------------------


def _forum(conference_id, room_id):
    room = find(Room, conference_id, room_id, message="There is no such forum.")
    if room.kind != RoomKind.FORUM:
        raise Refused("not_found", "There is no such forum.")
    return room


def _phase(conference_id):
    return state.load(conference_id).phase


def _has_seat(room, excluding=None):
    if room.capacity is None:
        return True
    members = ForumAssignment.objects.filter(room=room)
    if excluding is not None:
        members = members.exclude(person=excluding)
    return members.count() < room.capacity


def choose(person, room_ids):
    """Record ranked wishes; while the forum phase runs, the first wish with a seat is joined."""
    if person.role != Role.PARTICIPANT and person.role != Role.SPEAKER:
        raise Refused("forbidden", "Only participants choose a forum.")
    room_ids = list(dict.fromkeys(room_ids))
    if not 1 <= len(room_ids) <= MAX_CHOICES:
        raise Refused("invalid_field", f"Choose 1 to {MAX_CHOICES} forums.")
    with transaction.atomic():
        rooms = [_forum(person.conference_id, room_id) for room_id in room_ids]
        ForumChoice.objects.filter(person=person).delete()
        ForumChoice.objects.bulk_create(
            ForumChoice(person=person, room=room, rank=rank) for rank, room in enumerate(rooms, start=1)
        )
        joined = None
        if _phase(person.conference_id) == Phase.FORUMS and not ForumAssignment.objects.filter(person=person).exists():
            joined = next((room for room in rooms if _has_seat(room)), None)
            if joined is None:
                raise Refused("forum_full", "These forums are full; please choose another one.")
            ForumAssignment.objects.create(person=person, room=joined)
            _move_person(person, joined.pk)
        _changed(person.conference_id, joined.pk if joined else None, board=False)
    return joined


def _move_person(person, room_id):
    from rooms import fanout

    payload = {"kind": "placement", "default": room_id, "people": {}}
    transaction.on_commit(lambda: fanout.control_sync(groups.person(person.pk), payload))


def switch(person, room_id):
    """A participant walks to another forum: only if switching is allowed and a seat is free."""
    with transaction.atomic():
        room = _forum(person.conference_id, room_id)
        if _phase(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        settings = ForumSettings.objects.filter(conference_id=person.conference_id).first()
        current = ForumAssignment.objects.filter(person=person).first()
        if current is not None and not (settings and settings.allow_switching):
            raise Refused("switching_not_allowed", "The moderation has not opened the forums for switching.")
        if current is not None and current.room_id == room.pk:
            raise Refused("already_there", "You are already in this forum.")
        if not _has_seat(room, excluding=person):
            raise Refused("forum_full", "This forum is full.")
        old = current.room_id if current else None
        ForumAssignment.objects.update_or_create(person=person, defaults={"room": room, "assigned_by": None})
        _move_person(person, room.pk)
        _changed(person.conference_id, old, overview=True, board=False)
    return room


def move(conference_id, person_id, room_id, *, by):
    """The moderator moves one person into a forum (capacity still holds)."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        person = find(Person, conference_id, person_id, message="There is no such person here.")
        room = _forum(conference_id, room_id)
        if not _has_seat(room, excluding=person):
            raise Refused("forum_full", "This forum is full.")
        ForumAssignment.objects.update_or_create(person=person, defaults={"room": room, "assigned_by": by})
        if _phase(conference_id) == Phase.FORUMS:
            _move_person(person, room.pk)
        _changed(conference_id, None, board=False)
    return room


def assign_rest(conference_id, *, by):
    """Seat everybody without a forum: wishes first, then the emptiest forums."""
    require_stage_manager(by, conference_id)
    return _seat(conference_id, by=by, only_with_wishes=False)


def _seat(conference_id, *, by, only_with_wishes):
    with transaction.atomic():
        forums = list(Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).order_by("order"))
        people = list(
            Person.objects.filter(conference_id=conference_id, role__in=[Role.PARTICIPANT, Role.SPEAKER], revoked_at=None)
            .order_by("created_at", "pk").values_list("pk", flat=True)
        )
        existing = dict(ForumAssignment.objects.filter(room__in=forums).values_list("person_id", "room_id"))
        wishes = {}
        for person_id, room_id in ForumChoice.objects.filter(room__in=forums).order_by("rank").values_list("person_id", "room_id"):
            wishes.setdefault(person_id, []).append(room_id)
        if only_with_wishes:
            people = [pk for pk in people if pk in wishes]
        # Earlier wishes count first.
        people.sort(key=lambda pk: (pk not in wishes, pk))
        seated = assignment.assign(people, {room.pk: room.capacity for room in forums}, wishes, existing)
        new = [ForumAssignment(person_id=pk, room_id=room_id, assigned_by=by)
               for pk, room_id in seated.items() if pk not in existing]
        ForumAssignment.objects.bulk_create(new)
        unseated = len(people) - len(seated)
        _changed(conference_id, None, board=False, placement=_phase(conference_id) == Phase.FORUMS)
    return {"assigned": len(new), "unseated": unseated}


def set_switching(conference_id, allowed, *, by):
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        ForumSettings.objects.update_or_create(conference_id=conference_id, defaults={"allow_switching": allowed})
        _changed(conference_id, None, board=False)


def extend(conference_id, minutes, *, by):
    require_stage_manager(by, conference_id)
    if not 1 <= minutes <= 120:
        raise Refused("invalid_field", "Extend by 1 to 120 minutes.")
    with transaction.atomic():
        if _phase(conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        view = ForumView(conference_id)
        ends_at = (view.ends_at or timezone.now()) + datetime.timedelta(minutes=minutes)
        ForumSettings.objects.update_or_create(conference_id=conference_id, defaults={"ends_at": ends_at})
        rooms = [room.pk for room in view.forums]
        _changed(conference_id, None, board=False)
        for room_id in rooms:
            transaction.on_commit(lambda room_id=room_id: announce(conference_id, room_id, overview=False))
    return ends_at


def tell_forums(conference_id, text, *, by):
    """One announcement to every forum at once ("10 minutes left")."""
    from rooms import stage

    require_moderator(by, conference_id)
    forums = Room.objects.filter(conference_id=conference_id, kind=RoomKind.FORUM).values_list("pk", flat=True)
    return [stage.announce(conference_id, text, by=by, room_id=room_id) for room_id in forums]


# --- The results board ---------------------------------------------------------------------


def _writable_board(person, room_id):
    room = _forum(person.conference_id, room_id)
    if not (person.may_moderate or room.facilitator_id == person.pk
            or BoardWriter.objects.filter(room=room, person=person).exists()):
        raise Refused("forbidden", "Only the facilitator and the writers they name edit this board.")
    phase = _phase(person.conference_id)
    latest = ResultVersion.objects.filter(room=room).order_by("-number").first()
    if phase != Phase.FORUMS and (latest is None or latest.presented_at is not None):
        raise Refused("board_closed", "The board is closed: its results have been presented.")
    return room


def _member_room(person, room_id):
    """A forum that `person` is in (or moderates, or leads)."""
    room = _forum(person.conference_id, room_id)
    if person.may_moderate or room.facilitator_id == person.pk:
        return room
    if not ForumAssignment.objects.filter(person=person, room=room).exists():
        raise Refused("forbidden", "You are not a member of this forum.")
    return room


def add_entry(person, room_id, section, text):
    text = text.strip()
    if not text:
        raise Refused("missing_field", "The item is empty.")
    with transaction.atomic():
        room = _writable_board(person, room_id)
        position = (BoardEntry.objects.filter(room=room, section=section).aggregate(p=Max("position"))["p"] or 0) + 1
        entry = BoardEntry.objects.create(room=room, section=section, text=text, position=position,
                                          created_by=person, updated_by=person)
        _refreeze_if_submitted(room, person)
        _changed(person.conference_id, room.pk)
    return entry


def _entry(person, entry_id):
    entry = find(BoardEntry, person.conference_id, entry_id, path="room__conference_id", message="There is no such item.")
    if entry.removed_at is not None:
        raise Refused("not_found", "This item has been removed.")
    return entry


def _check_version(entry, version):
    if entry.version != version:
        # The loser of a race is told, with what the board holds now; nothing is overwritten.
        raise Refused(
            "conflict",
            f"Someone else changed this item in the meantime; it now reads: “{entry.text}”. Please try again.",
        )


def edit_entry(person, entry_id, text, version):
    text = text.strip()
    if not text:
        raise Refused("missing_field", "The item is empty.")
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _writable_board(person, entry.room_id)
        updated = BoardEntry.objects.filter(pk=entry.pk, version=version, removed_at=None).update(
            text=text, version=F("version") + 1, updated_by=person, updated_at=timezone.now()
        )
        if not updated:
            entry.refresh_from_db()
            _check_version(entry, version)
        _refreeze_if_submitted(entry.room, person)
        _changed(person.conference_id, entry.room_id)
    entry.refresh_from_db()
    return entry


def remove_entry(person, entry_id, version):
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _writable_board(person, entry.room_id)
        removed = BoardEntry.objects.filter(pk=entry.pk, version=version, removed_at=None).update(
            removed_at=timezone.now(), version=F("version") + 1, updated_by=person
        )
        if not removed:
            entry.refresh_from_db()
            _check_version(entry, version)
        _refreeze_if_submitted(entry.room, person)
        _changed(person.conference_id, entry.room_id)
    return entry


def move_entry(person, entry_id, direction):
    """Move an item up or down within its section."""
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _writable_board(person, entry.room_id)
        siblings = list(BoardEntry.objects.filter(room_id=entry.room_id, section=entry.section, removed_at=None).order_by("position", "pk"))
        index = next(i for i, e in enumerate(siblings) if e.pk == entry.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(siblings):
            raise Refused("invalid_field", "The item cannot move further.")
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, sibling in enumerate(siblings, start=1):
            if sibling.position != position or sibling.pk in (entry.pk, siblings[index].pk):
                BoardEntry.objects.filter(pk=sibling.pk).update(position=position, version=F("version") + 1)
        _refreeze_if_submitted(entry.room, person)
        _changed(person.conference_id, entry.room_id)


def comment(person, entry_id, text):
    text = text.strip()
    if not text:
        raise Refused("missing_field", "The comment is empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise Refused("too_long", f"A comment may be at most {MAX_COMMENT_LENGTH} characters.")
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _member_room(person, entry.room_id)
        if _phase(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        made = BoardComment.objects.create(entry=entry, author=person, text=text)
        _changed(person.conference_id, entry.room_id, overview=False)
    return made


def plus_one(person, entry_id):
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _member_room(person, entry.room_id)
        if _phase(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        try:
            with transaction.atomic():
                BoardPlusOne.objects.create(entry=entry, person=person)
        except IntegrityError:
            raise Refused("already_voted", "You have already given this item a +1.") from None
        _changed(person.conference_id, entry.room_id, overview=False)


def name_writer(person, room_id, writer_id):
    with transaction.atomic():
        room = _forum(person.conference_id, room_id)
        if room.facilitator_id != person.pk and not person.may_moderate:
            raise Refused("forbidden", "Only the facilitator names co-writers.")
        writer = find(Person, person.conference_id, writer_id, message="There is no such person here.")
        if not ForumAssignment.objects.filter(room=room, person=writer).exists():
            raise Refused("not_a_member", f"{writer.display_name} is not in this forum.")
        BoardWriter.objects.get_or_create(room=room, person=writer)
        _changed(person.conference_id, room.pk, overview=False)
    return writer


# --- Freezing and presenting ---------------------------------------------------------------


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


def _refreeze_if_submitted(room, by):
    """A correction after the phase: the facilitator's edit becomes a new version (all are kept)."""
    if _phase(room.conference_id) != Phase.FORUMS and ResultVersion.objects.filter(room=room).exists():
        _new_version(room, by)


def present(conference_id, room_id, *, by):
    """Put one forum's newest results on the stage, with its facilitator on stage to present."""
    require_stage_manager(by, conference_id)
    with transaction.atomic():
        room = _forum(conference_id, room_id)
        result = ResultVersion.objects.filter(room=room).order_by("-number").first()
        if result is None:
            raise Refused("no_results", "This forum has not submitted results yet.")
        if _phase(conference_id) == Phase.FORUMS:
            raise Refused("phase_open", "End the forum phase before presenting its results.")
        from rooms import stage

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
        transaction.on_commit(lambda: announce_overview(conference_id))
    result.seated, result.unseated = result_seated, result_unseated
    return result


def step(conference_id, direction, *, by):
    """Next or previous forum's results on the stage, in the forums' order."""
    from rooms import stage

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


def forum_phase_started(conference_id):
    """Hook for the agenda: the forum phase opens, so everyone with a wish gets a seat."""
    _seat(conference_id, by=None, only_with_wishes=True)


def forum_phase_ended(conference_id):
    """Hook for the agenda: the forum phase is over, so results freeze and everyone goes back."""
    freeze(conference_id)


def forum_item_live(conference_id):
    return AgendaItem.objects.filter(conference_id=conference_id, state=ItemState.LIVE, phase=Phase.FORUMS).exists()
