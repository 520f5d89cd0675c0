"""WebSocket commands that every place shares: hands and chat. The socket's place is known to
the server; a client cannot name another room."""

from rooms import chat, hands
from venue.models import MODERATION_ROLES, Person
from venue.permissions import find
from venue.protocol import Field, command, run


@command("hand.raise")
async def hand_raise(session):
    await run(hands.raise_hand, session.person, getattr(session, "place", None))
    return {"hand": True}


@command("hand.lower")
async def hand_lower(session):
    await run(hands.lower_hand, session.person)
    return {"hand": False}


@command("hand.dismiss", fields=(Field("person", int),))
async def hand_dismiss(session, person):
    target = await run(find, Person, session.conference_id, person, message="There is no such person here.")
    await run(hands.lower_hand, target, by=session.person)
    return {}


@command("chat.send", fields=(Field("text", max_length=chat.MAX_LENGTH),))
async def chat_send(session, text):
    # The socket's place is known to the server; the client cannot name another room.
    message = await run(chat.send, session.person, text, getattr(session, "place", None))
    return {"message": message.pk}


@command("chat.delete", roles=MODERATION_ROLES, fields=(Field("message", int),))
async def chat_delete(session, message):
    await run(chat.delete, session.conference_id, message, by=session.person)
    return {}


@command("chat.mute", roles=MODERATION_ROLES, fields=(Field("person", int), Field("minutes", int)))
async def chat_mute(session, person, minutes):
    muted = await run(chat.mute, session.conference_id, person, minutes, by=session.person)
    return {"until": muted.until.isoformat()}
