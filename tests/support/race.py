"""Many people taking the last seats at once, each through a database connection of their own,
as the sockets of several daphne processes would: `python -m tests.support.race` in a Plenum
environment (DATABASE_URL of a prepared demo) races for a standing table's and a forum's last
seats, and one person's sockets for the last ones they may open, and prints what happened as
one JSON line.
"""

import json
import os
import sys
import threading
from collections import Counter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from agenda import actions  # noqa: E402
from agenda.models import AgendaItem, Phase  # noqa: E402
from django.conf import settings  # noqa: E402
from frontend import demo  # noqa: E402
from frontend.consumers import admit_all  # noqa: E402
from rooms.forums import seating  # noqa: E402
from rooms.lounge import tables  # noqa: E402
from rooms.models import Connection, ForumAssignment, Room, RoomKind, TableSeat  # noqa: E402
from venue.auth import Credentials  # noqa: E402
from venue.errors import Refused  # noqa: E402
from venue.models import Person, Role  # noqa: E402


def at_once(people, action):
    """`action(person)` for every person, each in its own thread and connection, released
    together; returns the refusal codes (None for a success)."""
    barrier = threading.Barrier(len(people))
    codes = [None] * len(people)

    def run(index, person):
        try:
            barrier.wait()
            action(person)
        except Refused as refused:
            codes[index] = refused.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def admit(person):
    """One socket of `person`, admitted as a connecting socket is (alone in its trip)."""
    found = admit_all([(Credentials(person.token, None), "race")])[0]
    if isinstance(found, Refused):
        raise found


def newcomers(conference, prefix, count):
    return [Person.objects.create(conference=conference, display_name=f"{prefix} {i}") for i in range(count)]


def start_phase(conference, moderator, phase):
    item = AgendaItem.objects.filter(conference=conference, phase=phase).order_by("order").first()
    actions.start(conference.pk, item.pk, by=moderator)
    return item


def main(racers, free):
    conference = demo.create()
    moderator = Person.objects.get(conference=conference, role=Role.MODERATOR)
    result = {}

    start_phase(conference, moderator, Phase.BREAK)
    table = Room.objects.filter(conference=conference, kind=RoomKind.TABLE).order_by("order").first()
    for person in newcomers(conference, "Schon am Tisch", table.capacity - free):
        tables.join(person, table.pk)
    codes = at_once(newcomers(conference, "Zum Tisch", racers), lambda person: tables.join(person, table.pk))
    result["table"] = {"seated": TableSeat.objects.filter(table=table).count(), "capacity": table.capacity,
                       "codes": Counter(str(code) for code in codes)}
    actions.end(conference.pk, by=moderator)

    start_phase(conference, moderator, Phase.FORUMS)
    forum = Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order").first()
    Room.objects.filter(pk=forum.pk).update(capacity=ForumAssignment.objects.filter(room=forum).count() + free)
    forum.refresh_from_db()
    codes = at_once(newcomers(conference, "Ins Forum", racers), lambda person: seating.choose(person, [forum.pk]))
    result["forum"] = {"seated": ForumAssignment.objects.filter(room=forum).count(), "capacity": forum.capacity,
                       "codes": Counter(str(code) for code in codes)}
    actions.end(conference.pk, by=moderator)

    # One person's tabs, opened at once on several processes: the socket limit holds.
    person = newcomers(conference, "Viele Tabs", 1)[0]
    limit = settings.PLENUM_MAX_SOCKETS_PER_PERSON
    for _ in range(limit - free):
        admit(person)
    codes = at_once([person] * racers, admit)
    result["sockets"] = {"open": Connection.objects.filter(person=person, closed_at=None).count(), "limit": limit,
                         "codes": Counter(str(code) for code in codes)}

    # The same, with each process admitting a whole storm's sockets in one trip (several of them
    # the same person's, beside others'): racers/4 trips of 4 of her sockets and one of someone else.
    person = newcomers(conference, "Viele Tabs im Sturm", 1)[0]
    for _ in range(limit - free):
        admit(person)
    others = newcomers(conference, "Nebenan", racers // 4)
    outcomes = []

    def storm(other):
        found = admit_all([(Credentials(token, None), "race") for token in [person.token] * 4 + [other.token]])
        outcomes.extend(getattr(one, "code", "None") for one in found[:4])
        outcomes.append("other " + getattr(found[4], "code", "None"))

    at_once(others, storm)
    result["storm"] = {"open": Connection.objects.filter(person=person, closed_at=None).count(), "limit": limit,
                       "codes": Counter(outcomes)}
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
