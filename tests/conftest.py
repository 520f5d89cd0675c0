"""Shared fixtures: the demo conference, its people, the channel layer, and the real backing
services of the scale topology. Helpers live in tests/support."""

import uuid

import pytest
from channels.layers import get_channel_layer
from django.db import connections

from venue import fanout
from tests.support.clients import someone
from tests.support.topology import PostgresCluster, RedisServer, start_or_fail
from frontend import demo
from venue.models import Person, Role


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The test database is SQLite in memory, shared by the test's threads: a connection that
    stays open (the embedded default keeps SQLite's open, venue/settings.py) would hold its
    tables locked when the next test flushes them. Servers started by tests keep the default."""
    connections["default"].settings_dict["CONN_MAX_AGE"] = 0


@pytest.fixture
def conference(transactional_db):
    return demo.create()


@pytest.fixture
def moderator(conference):
    return someone(conference, Role.MODERATOR)


@pytest.fixture
def participants(conference):
    return list(Person.objects.filter(conference=conference, role=Role.PARTICIPANT).order_by("pk"))


@pytest.fixture
async def layer():
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    yield channel_layer
    await fanout.shutdown()
    await channel_layer.flush()


@pytest.fixture(scope="session")
def redis_server():
    """One redis-server for the session; tests that share it flush it or use their own keys."""
    server = start_or_fail(RedisServer().start)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_cluster():
    """One PostgreSQL cluster for the session; each test takes its own database from it."""
    cluster = start_or_fail(PostgresCluster().start)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_database(postgres_cluster):
    """A fresh, empty database for one test: its DATABASE_URL."""
    name = f"plenum_{uuid.uuid4().hex[:12]}"
    url = postgres_cluster.create_database(name)
    try:
        yield url
    finally:
        postgres_cluster.drop_database(name)
