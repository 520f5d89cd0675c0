"""A forum's results board: findings, proposals and open questions, written by the facilitator
and the co-writers they name; members comment and "+1". Concurrent edits never overwrite each
other silently (every entry has a version)."""

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from agenda import state
from agenda.models import Phase
from rooms.forums.results import refreeze_if_submitted
from rooms.forums.view import changed, forum_of
from rooms.models import (
    BoardComment,
    BoardEntry,
    BoardPlusOne,
    BoardWriter,
    ForumAssignment,
    ResultVersion,
)
from venue.errors import Refused
from venue.models import Person
from venue.permissions import find

MAX_ENTRY_LENGTH = 500


MAX_COMMENT_LENGTH = 300


def writable_board(person, room_id):
    room = forum_of(person.conference_id, room_id)
    if not (person.may_moderate or room.facilitator_id == person.pk
            or BoardWriter.objects.filter(room=room, person=person).exists()):
        raise Refused("forbidden", "Only the facilitator and the writers they name edit this board.")
    phase = state.phase_now(person.conference_id)
    latest = ResultVersion.objects.filter(room=room).order_by("-number").first()
    if phase != Phase.FORUMS and (latest is None or latest.presented_at is not None):
        raise Refused("board_closed", "The board is closed: its results have been presented.")
    return room


def _member_room(person, room_id):
    """A forum that `person` is in (or moderates, or leads)."""
    room = forum_of(person.conference_id, room_id)
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
        room = writable_board(person, room_id)
        position = (BoardEntry.objects.filter(room=room, section=section).aggregate(p=Max("position"))["p"] or 0) + 1
        entry = BoardEntry.objects.create(room=room, section=section, text=text, position=position,
                                          created_by=person, updated_by=person)
        refreeze_if_submitted(room, person)
        changed(person.conference_id, room.pk)
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
        writable_board(person, entry.room_id)
        updated = BoardEntry.objects.filter(pk=entry.pk, version=version, removed_at=None).update(
            text=text, version=F("version") + 1, updated_by=person, updated_at=timezone.now()
        )
        if not updated:
            entry.refresh_from_db()
            _check_version(entry, version)
        refreeze_if_submitted(entry.room, person)
        changed(person.conference_id, entry.room_id)
    entry.refresh_from_db()
    return entry


def remove_entry(person, entry_id, version):
    with transaction.atomic():
        entry = _entry(person, entry_id)
        writable_board(person, entry.room_id)
        removed = BoardEntry.objects.filter(pk=entry.pk, version=version, removed_at=None).update(
            removed_at=timezone.now(), version=F("version") + 1, updated_by=person
        )
        if not removed:
            entry.refresh_from_db()
            _check_version(entry, version)
        refreeze_if_submitted(entry.room, person)
        changed(person.conference_id, entry.room_id)
    return entry


def move_entry(person, entry_id, direction):
    """Move an item up or down within its section."""
    with transaction.atomic():
        entry = _entry(person, entry_id)
        writable_board(person, entry.room_id)
        siblings = list(BoardEntry.objects.filter(room_id=entry.room_id, section=entry.section, removed_at=None).order_by("position", "pk"))
        index = next(i for i, e in enumerate(siblings) if e.pk == entry.pk)
        other = index - 1 if direction == "up" else index + 1
        if not 0 <= other < len(siblings):
            raise Refused("invalid_field", "The item cannot move further.")
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, sibling in enumerate(siblings, start=1):
            if sibling.position != position or sibling.pk in (entry.pk, siblings[index].pk):
                BoardEntry.objects.filter(pk=sibling.pk).update(position=position, version=F("version") + 1)
        refreeze_if_submitted(entry.room, person)
        changed(person.conference_id, entry.room_id)


def comment(person, entry_id, text):
    text = text.strip()
    if not text:
        raise Refused("missing_field", "The comment is empty.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise Refused("too_long", f"A comment may be at most {MAX_COMMENT_LENGTH} characters.")
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _member_room(person, entry.room_id)
        if state.phase_now(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        made = BoardComment.objects.create(entry=entry, author=person, text=text)
        changed(person.conference_id, entry.room_id, overview=False)
    return made


def plus_one(person, entry_id):
    with transaction.atomic():
        entry = _entry(person, entry_id)
        _member_room(person, entry.room_id)
        if state.phase_now(person.conference_id) != Phase.FORUMS:
            raise Refused("phase_closed", "The forums are not in session.")
        try:
            with transaction.atomic():
                BoardPlusOne.objects.create(entry=entry, person=person)
        except IntegrityError:
            raise Refused("already_voted", "You have already given this item a +1.") from None
        changed(person.conference_id, entry.room_id, overview=False)


def name_writer(person, room_id, writer_id):
    with transaction.atomic():
        room = forum_of(person.conference_id, room_id)
        if room.facilitator_id != person.pk and not person.may_moderate:
            raise Refused("forbidden", "Only the facilitator names co-writers.")
        # One answer for a stranger and for someone who does not exist: no name, no existence
        # of anyone outside the forum is given away.
        writer = Person.objects.filter(
            pk=writer_id, conference_id=person.conference_id, forum_assignment__room=room
        ).first()
        if writer is None:
            raise Refused("not_a_member", "That person is not in this forum.")
        BoardWriter.objects.get_or_create(room=room, person=writer)
        changed(person.conference_id, room.pk, overview=False)
    return writer


