"""Capacity holds when many people take the last seats at once on PostgreSQL, as the sockets of
several daphne processes would: each join in its own thread with its own database connection.
So does the limit of one person's sockets when they open many at once."""

import json
import subprocess

import pytest

from tests.support.servers import PYTHON, ROOT, manage, server_env

pytestmark = [pytest.mark.topology, pytest.mark.timeout(180)]

RACERS = 20
FREE = 2


def test_twenty_race_for_the_last_two_seats_at_a_table_in_a_forum_and_for_one_persons_last_two_sockets(postgres_database, tmp_path):
    env = server_env(tmp_path, DATABASE_URL=postgres_database)
    manage(env, "migrate", "--noinput", "-v0")
    out = subprocess.run(
        [PYTHON, "-m", "tests.support.race", str(RACERS), str(FREE)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=150,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    table, forum = result["table"], result["forum"]
    assert table["seated"] == table["capacity"], table
    assert table["codes"] == {"None": FREE, "table_full": RACERS - FREE}, table
    assert forum["seated"] == forum["capacity"], forum
    assert forum["codes"] == {"None": FREE, "forum_full": RACERS - FREE}, forum
    # One person's sockets (frontend.consumers.admit_all): the person's row is locked, then the
    # connection row written only below the limit; without the lock, 8 of 5 were open.
    sockets = result["sockets"]
    assert sockets["open"] == sockets["limit"], sockets
    assert sockets["codes"] == {"None": FREE, "too_many_sockets": RACERS - FREE}, sockets
    # The same when each process admits a storm's sockets together (frontend.consumers.admit_all):
    # five trips of four of her sockets and one of someone else's, at once.
    storm = result["storm"]
    assert storm["open"] == storm["limit"], storm
    assert storm["codes"] == {"None": FREE, "too_many_sockets": RACERS - FREE, "other None": RACERS // 4}, storm
