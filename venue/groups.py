"""Every channel-layer group name Plenum uses is built here, and only here.

A socket joins the groups its person and role may hear when it connects, so a broadcast
needs no per-message permission check: whoever is in the group may read it.
"""

from venue.models import CONSOLE_ROLES

PARTICIPANTS = "participants"
CONSOLE = "console"
AUDIENCES = (PARTICIPANTS, CONSOLE)


def audience_of(role):
    return CONSOLE if role in CONSOLE_ROLES else PARTICIPANTS


def audience(conference_id, audience_name, language):
    """Everyone of one audience (participants or console) who reads one language."""
    if audience_name not in AUDIENCES:
        raise ValueError(f"unknown audience {audience_name!r}")
    return f"conf.{int(conference_id)}.{audience_name}.{language}"


PERSON_PREFIX = "person."


def person(person_id):
    """All open sockets of one person: for what differs per person. Carried on the channel
    layer by `people` (venue/fanout.py): no process joins a person's group there."""
    return f"{PERSON_PREFIX}{int(person_id)}"


def is_person(group):
    return group.startswith(PERSON_PREFIX)


def people():
    """The one channel-layer group that carries every person's group: each process joins it once
    and hands a person's messages to that person's sockets, if it holds any. A join storm would
    otherwise add (and later drop) one group per socket on Redis."""
    return "plenum.people"


def everyone(conference_id):
    """Every socket of a conference, whatever its audience: for control messages (relocation)."""
    return f"conf.{int(conference_id)}.everyone"


def room(conference_id, room_id, language):
    """The participants who are in one room (plenary, a forum, a table) and read one language."""
    return f"conf.{int(conference_id)}.room.{int(room_id)}.{language}"


def media_worker(index):
    """The channel (not a group) that media worker number `index` reads: daphne processes send
    their sockets' media commands for the rooms of that worker there when PLENUM_MEDIA is
    "worker" (rooms/media/worker.py decides which room is whose)."""
    return f"plenum.media.{int(index)}"


def media_news():
    """Every socket, in worker mode: hears when a media worker starts (rooms/media/worker.py)."""
    return "plenum.media.news"


def captions(conference_id):
    """The sockets that switched live captions on (any audience, any language: the captioner's
    text is the same for all); a page without captions is not in it and gets none."""
    return f"conf.{int(conference_id)}.captions"
