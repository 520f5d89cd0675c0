"""The attendance report reads its timestamps as text and counts in microseconds; SQLite and
PostgreSQL write that text differently. The same day gives the same files and chart on both."""

import json
import subprocess

import pytest

from tests.support.servers import PYTHON, ROOT, manage, server_env

pytestmark = [pytest.mark.topology, pytest.mark.timeout(180)]


def day_on(env):
    manage(env, "migrate", "--noinput", "-v0")
    out = subprocess.run([PYTHON, "-m", "tests.support.attendance_day"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=150)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_same_day_gives_the_same_attendance_on_postgresql_as_on_sqlite(postgres_database, tmp_path):
    on_sqlite = day_on(server_env(tmp_path / "sqlite"))
    on_postgres = day_on(server_env(tmp_path / "postgres", DATABASE_URL=postgres_database))
    people = on_sqlite["files"]["people"].splitlines()
    assert len(people) == 31 and "Teilnehmende Person 0007" in on_sqlite["files"]["people"]
    assert sum(len(moments) for moments, _counts in on_sqlite["lines"].values()) > 100
    assert on_postgres == on_sqlite
