"""The production topology on one machine: PostgreSQL, a Redis channel layer and two daphne processes.

The moderator's socket is on one process and participants are on both; what the moderator does
must reach everyone, and what the console counts must include every process.
"""

import asyncio
import json
import re
import time

import psycopg
import pytest
import redis
import websockets

from frontend import demo
from tests.support.servers import Daphne, manage, prepare_demo, server_env
from tests.support.sockets import Socket
from tests.support.waiting import wait_until
from venue import groups

pytestmark = [pytest.mark.topology, pytest.mark.timeout(120)]

WELCOME_LIVE = '<h1 class="live-title">Begrüßung</h1>'
PRESENCE_TOTAL = re.compile(r'data-count="total">(\d+)<')


@pytest.fixture(scope="module")
def scale(redis_server, postgres_cluster, tmp_path_factory):
    """Two daphne processes sharing one PostgreSQL database and one Redis channel layer."""
    name = "plenum_topology"
    database_url = postgres_cluster.create_database(name)
    redis_server.flush()
    env = server_env(
        tmp_path_factory.mktemp("scale"),
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        # As in production: a process keeps its PostgreSQL connection instead of one per query.
        CONN_MAX_AGE=60,
        # Memberships are renewed all the time, so that renewals overlap with sockets coming and
        # going (in production every 30 s).
        PLENUM_PROCESS_REFRESH_SECONDS=0.5,
    )
    prepare_demo(env, "http://127.0.0.1")
    first, second = Daphne(env), Daphne(env)
    try:
        first.start()
        second.start()
        yield Venue(env, database_url, redis_server, (first, second))
    finally:
        for process in (first, second):
            process.stop()
        postgres_cluster.drop_database(name)


@pytest.fixture
def venue_at_scale(scale):
    # The demo day is made once for the module: only the first test moves the agenda, and
    # deleting the conference under live processes would only test the teardown. Each test
    # begins once the sockets of the one before are gone, so that none counts what another left.
    scale.wait_until_quiet()
    scale.mark_logs()
    return scale


class Venue:
    def __init__(self, env, database_url, redis_server, processes):
        self.env = env
        self.database_url = database_url
        self.redis = redis.Redis.from_url(redis_server.url)
        self.processes = processes
        self.log_offsets = {}
        self.day = self._day()

    def _day(self):
        with psycopg.connect(self.database_url) as conn:
            conference_id, = conn.execute(
                "SELECT id FROM venue_conference WHERE slug = %s", (demo.SLUG,)
            ).fetchone()
            people = conn.execute(
                "SELECT id, role, token FROM venue_person WHERE conference_id = %s ORDER BY id",
                (conference_id,),
            ).fetchall()
        return Day(conference_id, people)

    def more_participants(self, count):
        """Tokens of `count` new participants of the demo conference."""
        out = manage(self.env, "shell", "-c", (
            "from frontend import demo\n"
            "from venue.models import Person\n"
            "conference = demo.create()\n"
            f"for p in Person.objects.bulk_create([Person(conference=conference, display_name=f'Gast {{i}}') for i in range({count})]):\n"
            "    print('token', p.token)\n"
        ))
        # The shell may print its own lines too (Django 5.2 counts its automatic imports).
        tokens = [line.split()[1] for line in out.splitlines() if line.startswith("token ")]
        assert len(tokens) == count, out[:500]
        return tokens

    def wait_until_quiet(self, timeout=30):
        """Until no socket is open on either process, and neither is in the participants' group."""
        participants = f"conf.{self.day.conference_id}.participants.de"
        deadline = time.monotonic() + timeout
        while self.query("SELECT count(*) FROM rooms_connection WHERE closed_at IS NULL") != [(0,)] or self.group_members(participants):
            assert time.monotonic() < deadline, "sockets of an earlier test are still open"
            time.sleep(0.1)

    def mark_logs(self):
        self.log_offsets = {daphne.port: len(daphne.log_text()) for daphne in self.processes}

    def new_log_text(self):
        """What the daphne processes logged since the test began."""
        return "".join(
            daphne.log_text()[self.log_offsets.get(daphne.port, 0):] for daphne in self.processes
        )

    def assert_no_tracebacks(self):
        """What the daphne processes logged during this test holds no exception."""
        for daphne in self.processes:
            text = daphne.log_text()[self.log_offsets.get(daphne.port, 0):]
            assert "Traceback" not in text, f"daphne on port {daphne.port} logged:\n{text[-4000:]}"

    def query(self, sql, *params):
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def group_members(self, group):
        """The channels that the Redis layer would send a group's messages to."""
        return {member.decode() for member in self.redis.zrange(f"asgi:group:{group}", 0, -1)}

    def group_keys(self):
        return [key.decode() for key in self.redis.scan_iter("asgi:group:*")]


class Day:
    def __init__(self, conference_id, people):
        self.conference_id = conference_id
        self.people = people

    def token(self, role, index=0):
        return [token for _pk, person_role, token in self.people if person_role == role][index]

    def person_id(self, role, index=0):
        return [pk for pk, person_role, _token in self.people if person_role == role][index]


async def test_moderator_on_one_process_moves_participants_on_the_other(venue_at_scale):
    day = venue_at_scale.day
    first, second = venue_at_scale.processes
    console = await Socket.open(first, day.token("moderator"))
    alice = await Socket.open(second, day.token("participant", 0))
    bob = await Socket.open(second, day.token("participant", 1), "en")
    carla = await Socket.open(first, day.token("participant", 2))
    for socket in (alice, bob, carla):
        assert WELCOME_LIVE in socket.first_frame  # as "up next"
        assert 'aria-current="step"' not in socket.first_frame

    reply = await console.command("agenda.next")
    assert reply["type"] == "ack"

    for socket, kicker in ((alice, "Jetzt"), (bob, "Now"), (carla, "Jetzt")):
        frame = await socket.until(lambda f: 'id="now-playing"' in f)
        assert WELCOME_LIVE in frame
        assert f'<p class="kicker">{kicker}' in frame
        assert 'aria-current="step"' in frame

    seen = carla.mark()
    refused = await bob.command("agenda.next")
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    await carla.assert_never(lambda f: 'id="now-playing"' in f, since=seen, what="the agenda moved on a participant's refused click")
    live = venue_at_scale.query(
        "SELECT title FROM agenda_agendaitem WHERE conference_id = %s AND state = 'live'", day.conference_id
    )
    assert live == [("Begrüßung",)]
    for socket in (console, alice, bob, carla):
        await socket.close()
    venue_at_scale.assert_no_tracebacks()


async def test_closed_sockets_leave_their_process_group_and_presence_counts_both_processes(venue_at_scale):
    day = venue_at_scale.day
    first, second = venue_at_scale.processes
    participants_de = f"conf.{day.conference_id}.participants.de"
    console = await Socket.open(first, day.token("moderator"))
    carla = await Socket.open(first, day.token("participant", 2))
    only_first = venue_at_scale.group_members(participants_de)
    assert len(only_first) == 1

    alice = await Socket.open(second, day.token("participant", 0))
    bob = await Socket.open(second, day.token("participant", 1))
    # Two sockets on the second process, yet it joins the group once.
    both = venue_at_scale.group_members(participants_de)
    assert len(both) == 2 and only_first < both

    # The console counts the people on both processes: the moderator and three participants.
    await console.until(lambda f: (m := PRESENCE_TOTAL.search(f)) and m.group(1) == "4")
    open_by_process = dict(venue_at_scale.query(
        "SELECT process, count(*) FROM rooms_connection WHERE closed_at IS NULL GROUP BY process"
    ))
    by_pid = {
        daphne.process.pid: sum(n for name, n in open_by_process.items() if f"-{daphne.process.pid}-" in name)
        for daphne in (first, second)
    }
    assert by_pid == {first.process.pid: 2, second.process.pid: 2}

    await alice.close()
    # Once the console counts her gone, her process has let go of her socket's groups ...
    await console.until(lambda f: (m := PRESENCE_TOTAL.search(f)) and m.group(1) == "3")
    # ... but Bob is still there, so the second process stays a member.
    assert venue_at_scale.group_members(participants_de) == both
    await bob.close()
    await wait_until(lambda: venue_at_scale.group_members(participants_de) == only_first, what="the second process left the group")
    for index in (0, 1):
        assert venue_at_scale.group_members(f"person.{day.person_id('participant', index)}") == set()

    await console.until(lambda f: (m := PRESENCE_TOTAL.search(f)) and m.group(1) == "2")
    for socket in (console, carla):
        await socket.close()
    venue_at_scale.assert_no_tracebacks()


async def test_sockets_stay_open_through_a_quiet_spell(venue_at_scale):
    # Nothing happens for longer than channels-redis' blocking pop (5 s) twice over: every
    # socket's wait on the layer must simply start again, not end the socket.
    day = venue_at_scale.day
    first, second = venue_at_scale.processes
    sockets = [
        await Socket.open(daphne, day.token("participant", index))
        for index, daphne in enumerate((first, second, first, second))
    ]
    await asyncio.sleep(11)
    closed = []
    for socket in sockets:
        try:
            assert (await socket.command("ping"))["type"] == "ack"
        except websockets.ConnectionClosed as error:
            closed.append(str(error))
        await socket.close()
    timeouts = venue_at_scale.new_log_text().count("redis.exceptions.TimeoutError")
    assert not closed and not timeouts, (
        f"{len(closed)} of {len(sockets)} idle sockets closed, {timeouts} Redis read timeouts logged. "
        "redis-py 8 reads with a 5 s socket_timeout by default, no longer than channels-redis' 5 s "
        "blocking pop, so the pop times out on the client side and ends whoever waited: the "
        "channel layer's host in venue/settings.py needs a longer socket_timeout."
    )
    venue_at_scale.assert_no_tracebacks()


async def test_three_hundred_people_opening_their_link_at_once_on_one_process_all_get_in(venue_at_scale):
    day = venue_at_scale.day
    first, _second = venue_at_scale.processes
    tokens = venue_at_scale.more_participants(300)
    async def open_page(token):
        return await (await Socket.open(first, token)).settled()

    opened = await asyncio.gather(*(open_page(token) for token in tokens), return_exceptions=True)
    failed = [result for result in opened if isinstance(result, BaseException)]
    sockets = [result for result in opened if not isinstance(result, BaseException)]
    for socket in sockets:
        await socket.close()
    pool_errors = venue_at_scale.new_log_text().count("MaxConnectionsError")
    assert not failed and not pool_errors, (
        f"{len(failed)} of 300 sockets failed ({failed[:1]!r}); {pool_errors} MaxConnectionsError logged. "
        "redis-py 8's pools hold at most 100 connections and raise beyond that; each joining socket "
        "adds its person's group in Redis: the channel layer's host in venue/settings.py needs a "
        "larger max_connections."
    )
    # The sockets are closed: the process has left the participants' group again.
    await wait_until(lambda: not venue_at_scale.group_members(f"conf.{day.conference_id}.participants.de"), timeout=10,
                     what="the process left the participants' group")
    venue_at_scale.assert_no_tracebacks()


async def test_a_persons_limits_and_revocation_hold_across_both_processes(venue_at_scale):
    first, second = venue_at_scale.processes
    token, = venue_at_scale.more_participants(1)
    tabs = [await (await Socket.open(daphne, token)).settled() for daphne in (first, second, first, second, first)]

    # The sixth tab is refused, on whichever process: the database counts the sockets of both.
    sixth = await Socket.open(second, token)
    assert json.loads(sixth.first_frame)["code"] == "too_many_sockets"
    with pytest.raises(websockets.ConnectionClosed):
        await sixth.receive()
    assert sixth.connection.close_code == 4429

    # Hands, from sockets on both processes: Redis counts them together.
    codes = [(await tabs[i % 2].command("hand.raise" if i % 4 < 2 else "hand.lower")).get("code") for i in range(12)]
    assert codes[:10] == [None, "hand_already_raised", None, "hand_not_raised"] * 2 + [None, "hand_already_raised"]
    assert codes[10:] == ["rate_limited"] * 2

    # A person's group is no group in Redis (a join storm would add one per socket there): what
    # is meant for them travels in the one group both processes joined when they started.
    assert len(venue_at_scale.group_members(groups.people())) == 2
    assert not [key for key in venue_at_scale.group_keys() if "person." in key]

    # Revoked in a third process (an organizer's click): every socket closes at once.
    manage(venue_at_scale.env, "shell", "-c", (
        "from venue import access\n"
        "from venue.models import Person\n"
        f"access.revoke_person(Person.objects.get(token={token!r}))\n"
    ))
    for tab in tabs:
        with pytest.raises(websockets.ConnectionClosed):
            await tab.until(lambda f: False, timeout=10)
        assert tab.connection.close_code == 4403
        assert any('"access_revoked"' in frame for frame in tab.frames)
    venue_at_scale.assert_no_tracebacks()
