"""/healthz, /readyz and /metrics: what a container healthcheck and Prometheus get from a process."""

import re
import urllib.error
import urllib.request

import pytest
from django.test import AsyncClient, override_settings

from tests.support.clients import connect
from tests.support.servers import Daphne, free_port, prepare_demo, server_env

TOKEN = "metrics-token-for-the-test"


def sample(text, name, **labels):
    """The value of one sample in Prometheus' text format (0 if it is not there yet)."""
    for line in text.splitlines():
        found = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if found and found.group(1) == name and dict(re.findall(r'(\w+)="([^"]*)"', found.group(2) or "")) == labels:
            return float(found.group(3))
    return 0.0


async def scrape(client):
    response = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


async def test_healthz_and_readyz_answer_whatever_host_a_probe_names(transactional_db, layer):
    client = AsyncClient(headers={"host": "web1:8000"})
    health = await client.get("/healthz")
    assert health.status_code == 200 and health.content == b"ok\n"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "channel_layer": "ok", "media_workers": "ok"}}


@override_settings(PLENUM_METRICS_TOKEN=TOKEN)
async def test_metrics_refuse_anyone_without_the_token(transactional_db):
    client = AsyncClient()
    assert (await client.get("/metrics")).status_code == 403
    assert (await client.get("/metrics", headers={"authorization": "Bearer guessed"})).status_code == 403
    assert (await client.get("/metrics", headers={"authorization": TOKEN})).status_code == 403
    with override_settings(PLENUM_METRICS_TOKEN=""):
        # No token configured: nobody gets the figures, not even with an empty bearer.
        assert (await client.get("/metrics", headers={"authorization": "Bearer "})).status_code == 403


@override_settings(PLENUM_METRICS_TOKEN=TOKEN)
async def test_metrics_count_sockets_commands_refusals_and_broadcasts(conference, moderator, participants, layer):
    client = AsyncClient()
    before = await scrape(client)
    console = await connect(moderator)
    await console.receive()
    alice = await connect(participants[0])
    await alice.drain()
    assert (await console.command("agenda.next"))["type"] == "ack"
    refused = await alice.command("agenda.next")
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    # Too large to be parsed: refused before its type is known, so counted as "unknown".
    await alice.send("question.ask", text="x" * 100_000)
    await alice.drain()

    after = await scrape(client)
    delta = lambda name, **labels: sample(after, name, **labels) - sample(before, name, **labels)  # noqa: E731
    assert delta("plenum_joins_total", outcome="admitted") == 2
    assert delta("plenum_commands_total", type="agenda.next", outcome="ok") == 1
    assert delta("plenum_commands_total", type="agenda.next", outcome="refused") == 1
    assert delta("plenum_refused_commands_total", code="forbidden") == 1
    assert delta("plenum_refused_commands_total", code="message_too_large") == 1
    assert delta("plenum_commands_total", type="unknown", outcome="refused") == 1
    assert delta("plenum_commands_total", type="ping", outcome="ok") >= 1
    # The moderator has no place; the participant is in the plenary's room (its id as the label).
    assert delta("plenum_sockets", place="none") == 1
    assert sum(
        float(value) for place, value in re.findall(r'^plenum_sockets\{place="(\d+)"\} (\S+)$', after, re.MULTILINE)
    ) - sum(
        float(value) for place, value in re.findall(r'^plenum_sockets\{place="(\d+)"\} (\S+)$', before, re.MULTILINE)
    ) == 1
    assert delta("plenum_broadcast_seconds_count") >= 1
    # Each of the two sockets was admitted and arrived in a trip to the database (one by one:
    # they came one after the other, so each went alone).
    assert delta("plenum_shared_trip_requests_sum", trip="admit") == 2
    assert delta("plenum_shared_trip_requests_sum", trip="arrive") == 2
    assert delta("plenum_shared_trip_requests_bucket", trip="admit", le="1.0") == 2

    await alice.close()
    await console.close()
    gone = await scrape(client)
    assert sample(gone, "plenum_sockets", place="none") == sample(before, "plenum_sockets", place="none")


@pytest.mark.processes
def test_readyz_says_what_is_missing_when_redis_and_the_media_workers_are_not_there(tmp_path):
    """A daphne process of the scale topology whose Redis is down and whose media workers never
    started: /readyz answers 503 and names both; /healthz still says the process is up."""
    env = server_env(
        tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", PLENUM_MEDIA="worker", PLENUM_MEDIA_WORKERS=2,
    )
    prepare_demo(env, "http://127.0.0.1")
    with Daphne(env) as daphne:
        with urllib.request.urlopen(f"{daphne.base_url}/healthz", timeout=10) as health:
            assert health.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{daphne.base_url}/readyz", timeout=20)
        assert refused.value.code == 503
        body = refused.value.read().decode()
    assert '"ready": false' in body
    assert '"database": "ok"' in body
    assert '"channel_layer": "the channel layer cannot be reached' in body
    assert "media worker" in body and "Redis" in body
