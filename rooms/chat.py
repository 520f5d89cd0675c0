"""The chat of every place (the plenary, a forum, a table): length and rate limits, deleting
messages and muting people, and the recent history a place shows."""

import datetime

from django.db import transaction
from django.utils import timezone

from rooms.models import ChatMessage, ChatMute, Room, RoomKind
from venue import groups, render, version
from venue.errors import Refused
from venue.models import Person
from venue.permissions import find, require_moderator

MAX_LENGTH = 500
RATE_WINDOW = datetime.timedelta(seconds=10)
RATE_LIMIT = 5
MAX_MUTE_MINUTES = 24 * 60
HISTORY = 50


class RoomChat:
    """Recent messages of one room, for whichever place shows a chat."""

    def __init__(self, room):
        self.room = room

    @property
    def chat_messages(self):
        if self.room is None:
            return []
        recent = ChatMessage.objects.filter(room=self.room).select_related("author").order_by("-created_at")[:HISTORY]
        return list(reversed(recent))


def plenary_room(conference_id):
    room = Room.objects.filter(conference_id=conference_id, kind=RoomKind.PLENARY).first()
    if room is None:
        raise Refused("no_chat", "This conference has no plenary chat.")
    return room


def send(person, text, room_id=None):
    """A message to the chat of the sender's place (`room_id`), or the plenary's for the console."""
    text = text.strip()
    if not text:
        raise Refused("missing_field", "The message is empty.")
    if len(text) > MAX_LENGTH:
        raise Refused("too_long", f"A chat message may be at most {MAX_LENGTH} characters.")
    now = timezone.now()
    with transaction.atomic():
        mute = ChatMute.objects.filter(person=person, until__gt=now).order_by("-until").first()
        if mute is not None:
            minutes = max(1, round((mute.until - now).total_seconds() / 60))
            raise Refused("muted", f"The moderation has muted you in the chat for {minutes} more minute(s).")
        recent = ChatMessage.objects.filter(author=person, created_at__gte=now - RATE_WINDOW).count()
        if recent >= RATE_LIMIT:
            raise Refused("rate_limited", f"At most {RATE_LIMIT} messages in {RATE_WINDOW.seconds} seconds; please wait a moment.")
        room = plenary_room(person.conference_id)
        if room_id is not None and room_id != room.pk:
            room = find(Room, person.conference_id, room_id, message="There is no such room.")
            if room.kind == RoomKind.LOUNGE:
                raise Refused("no_chat", "The lounge chats at its tables.")
        message = ChatMessage.objects.create(room=room, author=person, text=text)
        version.bump(person.conference_id)
        transaction.on_commit(lambda: _publish(person.conference_id, message, append=True))
    return message


def _publish(conference_id, message, append):
    """To the people in the message's room; the console follows the plenary's chat."""
    audiences = groups.AUDIENCES if message.room.kind == RoomKind.PLENARY else (groups.PARTICIPANTS,)
    render.broadcast(conference_id, ("rooms/_chat_message.html",), {"message": message, "append": append},
                     audiences=audiences, room_id=message.room_id)


def delete(conference_id, message_id, *, by):
    require_moderator(by, conference_id)
    with transaction.atomic():
        message = find(ChatMessage, conference_id, message_id, path="room__conference_id",
                       message="There is no such message.")
        if message.deleted_at is not None:
            raise Refused("already_deleted", "That message is already deleted.")
        message.deleted_at = timezone.now()
        message.deleted_by = by
        message.save(update_fields=["deleted_at", "deleted_by"])
        version.bump(conference_id)
        transaction.on_commit(lambda: _publish(conference_id, message, append=False))
    return message


def mute(conference_id, person_id, minutes, *, by):
    require_moderator(by, conference_id)
    if not 0 < minutes <= MAX_MUTE_MINUTES:
        raise Refused("invalid_field", f"Mute for 1 to {MAX_MUTE_MINUTES} minutes.")
    person = find(Person, conference_id, person_id, message="There is no such person here.")
    if person.may_moderate:
        raise Refused("forbidden", "The moderation cannot be muted.")
    with transaction.atomic():
        muted = ChatMute.objects.create(
            conference_id=conference_id, person=person, by=by,
            until=timezone.now() + datetime.timedelta(minutes=minutes),
        )
    return muted
