"""On PostgreSQL, a join storm's crowd reads its own rows in one query and writes its connection
rows in one statement (venue/prepared.py), and what each gets is what it would get alone."""

import json
import subprocess

import pytest
from django.conf import settings

from tests.support.servers import PYTHON, ROOT, manage, server_env

pytestmark = [pytest.mark.topology, pytest.mark.timeout(120)]


def test_a_crowds_own_rows_and_connection_rows_on_postgresql_are_each_ones_own(postgres_database, tmp_path):
    env = server_env(tmp_path, DATABASE_URL=postgres_database)
    manage(env, "migrate", "--noinput", "-v0")
    out = subprocess.run(
        [PYTHON, "-m", "tests.support.postgres_reads"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=100, check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])

    # Each person's own view, read together, is what they read alone; in one query, not one each.
    assert found["together"] == found["alone"]
    assert found["queries"] == {"together": 1, "alone": len(found["alone"])}
    me = {entry["person"]: entry for entry in found["together"]}
    forums = found["forums"]
    assert me[found["someone"]]["hand"] is True
    assert me[found["other"]]["forum_choices"] == [forums[0], forums[2]]  # in the order of their ranks
    assert forums[1] in me[found["third"]]["writer_of"]
    assert me[found["someone"]]["voted_questions"] and me[found["third"]]["voted_questions"]
    assert not me[found["other"]]["hand"] and not me[found["other"]]["voted_questions"]
    assert [entry["person"] for entry in found["together"]][-1] == found["someone"]  # two tabs, two answers

    # The storm's admissions: the person with one tab too many is refused once; everyone else's
    # row is theirs (person, attendee, conference), in one transaction of four statements.
    limit = settings.PLENUM_MAX_SOCKETS_PER_PERSON
    admitted, tabs = found["admitted"], found["tabs"]
    assert admitted[:limit + 1].count("too_many_sockets") == 1
    rows = {pk: (person, attendee, conference) for pk, person, attendee, conference in found["rows"]}
    for person, answer in zip(tabs, admitted):
        if answer != "too_many_sockets":
            assert answer["person"] == person
            assert rows[answer["connection"]] == (person, person, found["conference"])
    assert len(rows) == len(tabs) - 1
    statements = [sql.split()[0].upper() for sql in found["admit_queries"]]
    assert statements.count("SELECT") == 1, found["admit_queries"]
    # Everyone's first tab in one INSERT, then one more for each further tab of the same person.
    assert statements.count("INSERT") == limit + 1, found["admit_queries"]
