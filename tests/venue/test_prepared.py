"""Prepared reads answer exactly what the ORM would, for every argument, with one compile."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from venue.models import Person, Role
from venue.prepared import Prepared


def test_a_prepared_read_gives_the_orms_rows_and_instances_for_each_argument(conference):
    revoked = timezone.now() - timedelta(minutes=5)
    people = [
        Person.objects.create(conference=conference, display_name="Aylin Demir", role=Role.PARTICIPANT),
        Person.objects.create(conference=conference, display_name="Jonas Berg", role=Role.MODERATOR),
        Person.objects.create(conference=conference, display_name="Olena Koval", role=Role.PARTICIPANT, revoked_at=revoked),
    ]
    by_token = Prepared(
        lambda token: Person.objects.select_related("conference").filter(token=token, revoked_at=None), token=str
    )
    named = Prepared(
        lambda conference, role: Person.objects.filter(conference_id=conference, role=role).values_list("display_name", "revoked_at"),
        conference=int, role=str,
    )

    for person in people:
        found = by_token.objects(token=person.token)
        expected = list(Person.objects.select_related("conference").filter(token=person.token, revoked_at=None))
        assert [(p.pk, p.display_name, p.conference.title) for p in found] == [
            (p.pk, p.display_name, p.conference.title) for p in expected
        ]
    # The conference came with the person: reading it costs no query.
    found = by_token.objects(token=people[0].token)[0]
    with CaptureQueriesContext(connection) as queries:
        assert found.conference.title == conference.title
    assert len(queries) == 0
    assert by_token.objects(token="no such token") == []

    for role in (Role.PARTICIPANT, Role.MODERATOR, Role.ORGANIZER):
        assert named.rows(conference=conference.pk, role=role) == list(
            Person.objects.filter(conference=conference, role=role).values_list("display_name", "revoked_at")
        )
    # Datetimes come back as the ORM gives them (aware, on SQLite and PostgreSQL alike).
    assert ("Olena Koval", revoked) in named.rows(conference=conference.pk, role=Role.PARTICIPANT)


def test_a_prepared_read_refuses_an_argument_that_is_not_in_its_sql(conference):
    unused = Prepared(lambda conference, person: Person.objects.filter(conference_id=conference), conference=int, person=int)
    with pytest.raises(ValueError, match="person"):
        unused.rows(conference=conference.pk, person=1)
    # Only ids, counts and codes are bound later; a datetime argument would change the SQL's form.
    with pytest.raises(TypeError):
        Prepared(lambda when: Person.objects.filter(created_at=when), when=type(timezone.now())).rows(when=timezone.now())


def test_insert_many_writes_each_row_as_the_orm_would_and_only_where_its_condition_holds(conference):
    from rooms.models import Connection
    from venue.prepared import insert_many

    alice, bob, carla = Person.objects.filter(conference=conference, role=Role.PARTICIPANT).order_by("pk")[:3]
    Connection.objects.create(person=bob, process="elsewhere")
    at = timezone.now()
    rows = [
        {"person_id": person.pk, "conference_id": conference.pk, "attendee": person.pk, "process": "here", "opened_at": at}
        for person in (alice, bob, carla)
    ]
    # At most one open socket each: bob has one already.
    below_one = (
        "(SELECT COUNT(*) FROM rooms_connection AS others"
        " WHERE others.person_id = candidate.person_id AND others.closed_at IS NULL) < %s"
    ), (1,)
    with CaptureQueriesContext(connection) as queries:
        ids = insert_many(Connection, rows, key="person_id", where=below_one)
    assert len(queries) == 1
    assert ids[1] is None and None not in (ids[0], ids[2])
    written = {row.pk: row for row in Connection.objects.filter(process="here")}
    assert set(written) == {ids[0], ids[2]}
    for person, connection_id in ((alice, ids[0]), (carla, ids[2])):
        row = written[connection_id]
        assert (row.person_id, row.conference_id, row.attendee, row.opened_at, row.closed_at) == (
            person.pk, conference.pk, person.pk, at, None
        )
    with pytest.raises(ValueError, match="different person_id"):
        insert_many(Connection, [rows[0], rows[0]], key="person_id")
    assert insert_many(Connection, [], key="person_id") == []
