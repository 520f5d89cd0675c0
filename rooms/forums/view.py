"""The Fachforen as pages see them (a forum's board, its hands, the console's overview), and
publishing them once a change has committed: the board to the forum's members, the overview
to the console."""

from functools import cached_property

from django.db import transaction
from django.db.models import Count, Max

from agenda import state
from agenda.models import Phase
from rooms import places
from rooms.models import (
    BoardEntry,
    BoardSection,
    BoardWriter,
    ForumSettings,
    Hand,
    ResultVersion,
    Room,
    RoomKind,
    Upload,
)
from venue import groups, render, version
from venue.errors import Refused
from venue.models import Person, Role
from venue.permissions import find
from venue.prepared import Tagged, tagged

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

    @property
    def all_full(self):
        return bool(self.forums) and all(room.full for room in self.forums)

    @property
    def members_total(self):
        return sum(room.members for room in self.forums)

    @property
    def seats_total(self):
        """All seats of all forums, or None if a forum has no limit."""
        if any(room.capacity is None for room in self.forums):
            return None
        return sum(room.capacity for room in self.forums)

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


def writer_reads(person):
    """The reads behind `writers_of`, as parts of one read of a person's own rows
    (venue.prepared.Tagged; frontend.frames.me_for_each reads them with the other places' in one query)."""
    return [
        tagged(Room.objects.filter(facilitator_id=person, kind=RoomKind.FORUM), "writer_of", "pk"),
        tagged(BoardWriter.objects.filter(person_id=person), "writer_of", "room_id"),
    ]


def writers_from(found):
    """`writers_of`, from what `writer_reads` found."""
    return sorted(set(found["writer_of"]))


_writers = Tagged(writer_reads, person=int)


def writers_of(person):
    """The forums whose board this person may edit: their own as facilitator, or as co-writer."""
    return writers_from(_writers.values(person=person.pk))


def changed(conference_id, room_id, *, board=True, overview=True, placement=False):
    """Inside the transaction of a change: bump the state version, and publish once committed."""
    version.bump(conference_id)
    transaction.on_commit(lambda: publish(conference_id, room_id, board=board, overview=overview, placement=placement))


def publish(conference_id, room_id, *, board=True, overview=True, placement=False):
    if board and room_id is not None:
        room = Room.objects.get(pk=room_id)
        view = ForumView(conference_id, room)
        # The forum's members see its board; the console sees every board in the overview.
        render.broadcast(conference_id, ("forums/_board.html",), view.context(),
                         audiences=(groups.PARTICIPANTS,), room_id=room_id)
    if overview:
        publish_overview(conference_id)
    if placement:
        places.send_everyone(conference_id)
    if (overview or placement) and state.phase_now(conference_id) == Phase.FORUMS:
        publish_waiting(conference_id)


def publish_hands(conference_id, room_id):
    """A forum's raised hands, to the people in that forum (the facilitator takes them)."""
    view = ForumView(conference_id, Room.objects.get(pk=room_id))
    render.broadcast(conference_id, ("forums/_hands.html",), view.context(),
                     audiences=(groups.PARTICIPANTS,), room_id=room_id)


def on_hands_changed(sender, conference_id, room_id, **kwargs):
    if room_id is not None:
        version.bump(conference_id)
        transaction.on_commit(lambda: publish_hands(conference_id, room_id))


def overview_context(conference_id):
    return {"forum": ForumView(conference_id), "overview": overview(conference_id)}


# What of the console follows the forums live; the capacity controls' list of forums is one.
OVERVIEW_PARTS = ("forums/_overview.html", "forums/_capacity_forums.html")


def publish_overview(conference_id):
    render.broadcast(conference_id, OVERVIEW_PARTS, overview_context(conference_id), audiences=(groups.CONSOLE,))


def waiting_context(conference_id, day=None):
    """For the plenary: while the forums are in session, whoever is there waits for a seat."""
    view = ForumView(conference_id, day=day)
    return {"waiting": view if view.day.phase == Phase.FORUMS else None}


def publish_waiting(conference_id):
    """The plenary's note for those waiting for a seat, to the plenary only: their place does not
    change when a forum fills up or frees a seat, so their place frame is not sent again. (When
    the day changes, the note rides in the plenary's frame: frontend/live.py.)"""
    plenary = Room.objects.filter(conference_id=conference_id, kind=RoomKind.PLENARY).order_by("order").values_list("pk", flat=True).first()
    if plenary is not None:
        render.broadcast(conference_id, ("forums/_waiting.html",), waiting_context(conference_id),
                         audiences=(groups.PARTICIPANTS,), room_id=plenary)


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


def forum_of(conference_id, room_id):
    room = find(Room, conference_id, room_id, message="There is no such forum.")
    if room.kind != RoomKind.FORUM:
        raise Refused("not_found", "There is no such forum.")
    return room


# --- The results board ---------------------------------------------------------------------


# --- Freezing and presenting ---------------------------------------------------------------
