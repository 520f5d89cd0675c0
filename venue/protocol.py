"""The WebSocket command registry: each message type, who may send it, and its fields.

Handlers are declared with `@command(...)` next to the domain they belong to; the consumer looks
the type up here, checks the role, validates the fields and calls the handler with named,
typed arguments. Nothing from the client reaches a handler unchecked. The wire format is
documented in docs/protocol.md.
"""

import json
import re
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from django.conf import settings

from venue import limits
from venue.errors import Refused
from venue.limits import Rate
from venue.models import Role

EVERYONE = frozenset(Role.values)
# A number sent as text: optional minus, at most 18 ASCII digits (so it stays within 2**62).
DIGITS = re.compile(r"\s*-?[0-9]{1,18}\s*", re.ASCII)


class ProtocolError(Refused):
    """A message that is malformed or not this sender's to send."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: type = str
    required: bool = True
    max_length: int = 200
    choices: tuple = ()

    def clean(self, raw):
        if self.kind is list:
            # A list of ids, e.g. the ticked boxes of a multiple-choice poll.
            values = raw if isinstance(raw, list) else [raw]
            if len(values) > 20:
                raise ProtocolError("invalid_field", f"'{self.name}' has too many values.")
            return [Field(self.name, int).clean(value) for value in values]
        if self.kind is int:
            # htmx sends form values as strings; accept ASCII digits, refuse everything else
            # (str.isdigit() also says yes to "²" and "①", which int() then refuses).
            if isinstance(raw, bool):
                raise ProtocolError("invalid_field", f"'{self.name}' must be a number.")
            if isinstance(raw, str) and DIGITS.fullmatch(raw):
                raw = int(raw)
            if not isinstance(raw, int) or abs(raw) > 2**62:
                raise ProtocolError("invalid_field", f"'{self.name}' must be a number.")
            return raw
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            if raw in ("true", "on", "1"):
                return True
            if raw in ("false", "off", "0", ""):
                return False
            raise ProtocolError("invalid_field", f"'{self.name}' must be true or false.")
        if not isinstance(raw, str):
            raise ProtocolError("invalid_field", f"'{self.name}' must be text.")
        if not _storable(raw):
            raise ProtocolError("invalid_field", f"'{self.name}' is not valid text.")
        raw = raw.strip()
        if len(raw) > self.max_length:
            raise ProtocolError(
                "too_long", f"'{self.name}' is longer than {self.max_length} characters."
            )
        if self.choices and raw not in self.choices:
            raise ProtocolError("invalid_field", f"'{self.name}' must be one of {', '.join(self.choices)}.")
        if self.required and not raw:
            raise ProtocolError("missing_field", f"'{self.name}' must not be empty.")
        return raw


def _storable(text):
    """JSON's \\u escapes can carry what no database or page can hold: lone surrogates
    (not encodable as UTF-8) and NUL (PostgreSQL refuses it in text)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Every command but `ping` counts against one of these classes per person, in every process
# together (venue/limits.py): a person cannot flood the venue with writes and broadcasts from
# any number of sockets. Chat, questions and reactions have their own, tighter limits besides.
RATES = {
    # Hands go up and down; each change is a write and a console broadcast.
    "hand": Rate(10, 60),
    # Votes on questions and polls, "+1" on a board.
    "vote": Rate(30, 10),
    # Media signalling: offers, answers and ICE candidates come in bursts when a page joins.
    "media": Rate(600, 10),
    # Everything else that changes state.
    "command": Rate(60, 10),
}


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset
    fields: tuple
    handler: object = field(compare=False)
    # The class in RATES this command counts against; None for commands that change nothing.
    rate: str | None = "command"


@dataclass(frozen=True)
class ReplyElsewhere:
    """What a handler returns when another process answers (e.g. the media worker).

    The consumer then sends no ack itself: it calls `forward(message_id)`, which hands the
    message on together with its id, and the reply (ack or error) arrives on the socket's own
    channel later.
    """

    forward: object


COMMANDS = {}
# Called with the socket (frontend.consumers.VenueConsumer) when a socket connects, after it joined its own groups and before
# its first frame, so a domain can add what it needs (media: hearing of media worker restarts).
CONNECT_HOOKS = []
# Called with the socket (frontend.consumers.VenueConsumer) when a socket closes, so a domain can free what it held (media, hands).
DISCONNECT_HOOKS = []
# Control message kind -> called with (socket, payload) for each socket in the control's group
# (venue/fanout.py); the agenda's "placement" and access's "revoked" are the consumer's own.
CONTROL_HANDLERS = {}
# Called with (socket, old room id, new room id) when a socket moves to another place,
# so that a domain can follow it (media leaves the old room and joins the new one).
MOVE_HOOKS = []

# Keys that the htmx ws extension adds to every message; they carry nothing we act on.
TRANSPORT_KEYS = frozenset({"type", "id", "HEADERS"})


def command(name, *, roles=EVERYONE, fields=(), rate="command"):
    if rate is not None and rate not in RATES:
        raise ValueError(f"unknown rate class {rate!r} for {name!r}")

    def register(handler):
        if name in COMMANDS:
            raise RuntimeError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(name, frozenset(roles), tuple(fields), handler, rate)
        return handler

    return register


def on_connect(hook):
    CONNECT_HOOKS.append(hook)
    return hook


def on_control(kind):
    def register(handler):
        if kind in CONTROL_HANDLERS or kind in ("placement", "revoked"):
            raise RuntimeError(f"control kind {kind!r} registered twice")
        CONTROL_HANDLERS[kind] = handler
        return handler

    return register


def on_disconnect(hook):
    DISCONNECT_HOOKS.append(hook)
    return hook


def on_move(hook):
    MOVE_HOOKS.append(hook)
    return hook


def parse(text):
    """Turn one client frame into (message id, command, cleaned fields), or raise ProtocolError."""
    if text is None:
        raise ProtocolError("binary_not_supported", "Send JSON text frames.")
    if len(text.encode("utf-8", "surrogatepass")) > settings.PLENUM_MAX_MESSAGE_BYTES:
        raise ProtocolError(
            "message_too_large",
            f"A message may be at most {settings.PLENUM_MAX_MESSAGE_BYTES} bytes.",
        )
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolError("invalid_json", "The message is not valid JSON.") from None
    except RecursionError:
        # A few kilobytes of "[[[[" are enough to exhaust the decoder's recursion.
        raise ProtocolError("invalid_json", "The message is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid_message", "A message is a JSON object with a 'type'.")
    message_id = data.get("id")
    if not isinstance(message_id, (str, int)) or isinstance(message_id, bool) or len(str(message_id)) > 64:
        message_id = None
    try:
        found, cleaned = _validate(data)
    except ProtocolError as refused:
        # The reply to a refused message still names the message it answers.
        refused.message_id = message_id
        raise
    return message_id, found, cleaned


def _validate(data):
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_message", "A message is a JSON object with a 'type'.")
    found = COMMANDS.get(kind)
    if found is None:
        raise ProtocolError("unknown_type", f"Unknown message type {kind[:40]!r}.")
    return found, clean_fields(found, data, ignore=TRANSPORT_KEYS)


def clean_fields(found, raw, ignore=frozenset()):
    """`raw`'s values checked against the command's field specs: unknown keys (but `ignore`),
    missing and malformed values are refused. The media worker checks relayed fields with it
    again: it trusts no payload."""
    if not isinstance(raw, dict):
        raise ProtocolError("invalid_message", "The fields are not an object.")
    unknown = set(raw) - ignore - {f.name for f in found.fields}
    if unknown:
        raise ProtocolError("invalid_field", f"Unexpected field {sorted(unknown)[0][:40]!r}.")
    cleaned = {}
    for spec in found.fields:
        value = raw.get(spec.name)
        # A form's empty choice ("everyone" in a select of rooms) arrives as "": no value.
        if value is None or (value == "" and spec.kind is int and not spec.required):
            if spec.required:
                raise ProtocolError("missing_field", f"'{spec.name}' is required.")
            continue
        cleaned[spec.name] = spec.clean(value)
    return cleaned


def authorize(found, person):
    if person.role not in found.roles:
        raise ProtocolError("forbidden", "Your role may not do that.")


async def within_rate(found, person):
    """Count the command against its class's limit for this person; refuse it when over."""
    if found.rate is not None:
        await limits.check(person.pk, found.rate, RATES[found.rate])


def error(code, message, message_id=None):
    reply = {"type": "error", "code": code, "message": str(message)}
    if message_id is not None:
        reply["id"] = message_id
    return json.dumps(reply)


def ack(message_id, **payload):
    reply = {"type": "ack", **payload}
    if message_id is not None:
        reply["id"] = message_id
    return json.dumps(reply)


def run(function, *args, **kwargs):
    """A domain function (plain, synchronous, touching the database) called from a handler."""
    return database_sync_to_async(function)(*args, **kwargs)


@command("ping", rate=None)
async def ping(session):
    """A round trip: answered with an ack after everything sent to this socket before it (a
    client measures latency with it; the tests prove with it that nothing else is on its way)."""
    return {}
