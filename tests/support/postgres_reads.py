"""What a crowd reads together on PostgreSQL equals what each would read alone:
`python -m tests.support.postgres_reads` in a Plenum environment (DATABASE_URL of a migrated
database) prints one JSON line: each connecting person's `me` read for all at once
(`frontend.frames.me_for_each`: one query, laterally over an array) and read alone, and how many
queries each took; and the connection rows `venue.prepared.insert_many` wrote for a crowd.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")

import django

django.setup()

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agenda import actions
from agenda.models import AgendaItem
from frontend import demo, frames
from frontend.consumers import admit_all
from rooms.models import BoardWriter, Connection, ForumChoice, Hand, Question, QuestionVote, Room, RoomKind
from venue import version
from venue.auth import Credentials
from venue.models import Person, Role


def main():
    conference = demo.create()
    moderator = Person.objects.get(conference=conference, role=Role.MODERATOR)
    item = AgendaItem.objects.filter(conference=conference).order_by("order").first()
    actions.start(conference.pk, item.pk, by=moderator)
    forums = list(Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order"))
    people = list(Person.objects.filter(conference=conference).order_by("pk"))
    someone, other, third = [person for person in people if person.role == Role.PARTICIPANT][:3]
    # Rows of their own, of several kinds, so that every part of the read has something to find.
    Hand.objects.create(conference=conference, person=someone)
    ForumChoice.objects.create(person=other, room=forums[2], rank=2)
    ForumChoice.objects.create(person=other, room=forums[0], rank=1)
    BoardWriter.objects.create(room=forums[1], person=third)
    question = Question.objects.create(item=item, author=other, text="Wie geht es weiter?")
    QuestionVote.objects.create(question=question, person=someone)
    QuestionVote.objects.create(question=question, person=third)
    crowd = [*people, someone]  # one of them twice (two tabs)

    with version.pinned(conference.pk):
        frames.me_for_each(crowd[:2])  # compiled before counting
        with CaptureQueriesContext(connection) as together_queries:
            together = frames.me_for_each(crowd)
        with CaptureQueriesContext(connection) as alone_queries:
            alone = [frames.me_for_each([person])[0] for person in crowd]

    # A storm's admissions on PostgreSQL: one INSERT for everyone's first socket, and whoever
    # brought more tabs than they may is refused.
    newcomers = [Person.objects.create(conference=conference, display_name=f"Gast {i}") for i in range(6)]
    tabs = [newcomers[0]] * (settings.PLENUM_MAX_SOCKETS_PER_PERSON + 1) + newcomers[1:]
    with CaptureQueriesContext(connection) as admit_queries:
        admitted = admit_all([(Credentials(person.token, None), "storm") for person in tabs])
    rows = list(Connection.objects.filter(process="storm").values_list("pk", "person_id", "attendee", "conference_id"))
    print(json.dumps({
        "together": together,
        "alone": alone,
        "queries": {"together": len(together_queries), "alone": len(alone_queries)},
        "someone": someone.pk, "other": other.pk, "third": third.pk,
        "forums": [forum.pk for forum in forums],
        "admitted": [
            getattr(found, "code", None) or {"person": found[0].pk, "connection": found[1]} for found in admitted
        ],
        "admit_queries": [query["sql"][:30] for query in admit_queries],
        "rows": rows,
        "tabs": [person.pk for person in tabs],
        "conference": conference.pk,
    }))


if __name__ == "__main__":
    main()
