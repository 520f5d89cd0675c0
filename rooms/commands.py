"""WebSocket commands that every place shares: hands and chat. The socket's place is known to
the server; a client cannot name another room."""

from rooms import chat, hands
from venue.models import MODERATION_ROLES
from venue.protocol import Field, command, run


@command("hand.raise", rate="hand")
async def hand_raise(socket):
    await run(hands.raise_hand, socket.person, getattr(socket, "place", None))
    return {"hand": True}


@command("hand.lower", rate="hand")
async def hand_lower(socket):
    await run(hands.lower_hand, socket.person)
    return {"hand": False}


@command("hand.dismiss", fields=(Field("person", int),))
async def hand_dismiss(socket, person):
    await run(hands.dismiss, person, by=socket.person)
    return {}


@command("chat.send", fields=(Field("text", max_length=chat.MAX_LENGTH),))
async def chat_send(socket, text):
    # The socket's place is known to the server; the client cannot name another room.
    message = await run(chat.send, socket.person, text, getattr(socket, "place", None))
    return {"message": message.pk}


@command("chat.delete", roles=MODERATION_ROLES, fields=(Field("message", int),))
async def chat_delete(socket, message):
    await run(chat.delete, socket.conference_id, message, by=socket.person)
    return {}


@command("chat.mute", roles=MODERATION_ROLES, fields=(Field("person", int), Field("minutes", int)))
async def chat_mute(socket, person, minutes):
    muted = await run(chat.mute, socket.conference_id, person, minutes, by=socket.person)
    return {"until": muted.until.isoformat()}
