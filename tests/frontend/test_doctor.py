"""`manage.py doctor` against real PostgreSQL and redis-server, and with broken settings."""

import secrets
import subprocess

import pytest

from tests.support.servers import PYTHON, ROOT, free_port, manage, server_env

pytestmark = [pytest.mark.topology, pytest.mark.timeout(120)]


def doctor(env):
    result = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_doctor_passes_what_a_sound_deployment_has(postgres_database, redis_server, tmp_path):
    env = server_env(
        tmp_path, DATABASE_URL=postgres_database, REDIS_URL=redis_server.url,
        PLENUM_STUN_URLS="stun:stun.example.org:3478", SECRET_KEY=secrets.token_hex(32), PLENUM_HTTPS=1,
        ALLOWED_HOSTS="konferenz.example.org",
    )
    manage(env, "migrate", "--noinput", "-v0")
    code, out = doctor(env)
    assert code == 0, out
    assert "ok   database: postgresql, migrated" in out
    assert "ok   channel layer: Redis answers a round trip" in out
    assert "ok   media workers:" in out
    assert "ok   ICE servers: 1 set" in out
    assert "ok   check --deploy: clean, apart from security.W005" in out
    assert "All checks passed." in out


def test_doctor_names_each_broken_part_and_how_to_fix_it(postgres_database, tmp_path):
    env = server_env(
        tmp_path, DATABASE_URL=postgres_database,
        # Nothing listens there: a wrong port in REDIS_URL, or Redis not started.
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PLENUM_MEDIA="worker", PLENUM_MEDIA_WORKERS=2,
        PLENUM_TURN_URLS="turn:turn.example.org:3478",
    )
    code, out = doctor(env)
    assert code == 1, out
    assert "FAIL database:" in out and "not applied" in out and "python manage.py migrate" in out
    assert "FAIL channel layer: the channel layer cannot be reached" in out and "fix: start Redis, or correct REDIS_URL" in out
    assert "FAIL media workers:" in out and "plenum_media_worker --index N" in out and "0 1" in out
    assert "FAIL ICE servers: a TURN server is set without a user name or password" in out
    # Served without PLENUM_HTTPS: Django's deployment checks name what is missing, one a line.
    assert "FAIL check --deploy:" in out and "security.W004: You have not set a value for the SECURE_HSTS_SECONDS setting." in out
    assert "checks failed" in out
