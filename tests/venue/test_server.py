"""Plenum's daphne (venue/server.py) as an outsider meets it: a real process on 127.0.0.1.

Oversized bodies are refused before they are stored or parsed, whoever sends them; oversized
WebSocket frames get the protocol's error instead of a dropped connection; the access log
holds no token.
"""

import asyncio
import json
import os
import socket
import time

import pytest

from tests.support.servers import Daphne, prepare_demo, server_env
from tests.support.sockets import Socket

pytestmark = [pytest.mark.processes, pytest.mark.timeout(120)]

MB = 1024 * 1024


@pytest.fixture(scope="module")
def daphne(tmp_path_factory):
    env = server_env(tmp_path_factory.mktemp("server"), PYTHONUNBUFFERED=1)
    links = prepare_demo(env, "http://127.0.0.1")
    with Daphne(env) as server:
        server.links = links
        yield server


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def post_raw(port, head, body_chunks):
    """Sends a request head and then body chunks until the server stops reading; returns what
    the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        try:
            for chunk in body_chunks:
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def multipart_chunks(boundary, size):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    block = b"A" * MB
    for _ in range(size // MB):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


def chunked(chunks):
    for chunk in chunks:
        yield b"%x\r\n%s\r\n" % (len(chunk), chunk)
    yield b"0\r\n\r\n"


def test_a_50_mb_multipart_post_without_a_session_is_refused_before_it_costs_memory(daphne):
    before = rss_mib(daphne.process.pid)
    boundary = "plenumboundary"
    size = 50 * MB
    length = sum(len(chunk) for chunk in multipart_chunks(boundary, size))
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()
    answer = post_raw(daphne.port, head, multipart_chunks(boundary, size))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # Chunked, so that no Content-Length warns the server.
    head = (f"POST /forums/1/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    answer = post_raw(daphne.port, head, chunked(multipart_chunks(boundary, size)))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    time.sleep(0.5)
    grown = rss_mib(daphne.process.pid) - before
    assert grown < 20, f"daphne's RSS grew by {grown:.0f} MiB"
    # The server still serves.
    answer = post_raw(daphne.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", [])
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert not answer.startswith(b"HTTP/1.1 5")


def test_a_websocket_frame_over_a_mebibyte_gets_message_too_large_and_the_socket_stays(daphne):
    token = daphne.links["moderator console"].rstrip("/").rsplit("/", 1)[-1]

    async def scenario():
        sock = await Socket.open(daphne, token)
        await sock.settled()
        await sock.connection.send(json.dumps({"type": "ping", "id": 1, "pad": "x" * (2 * MB)}))
        reply = json.loads(await sock.until(lambda f: f.startswith('{"type": "error"')))
        assert reply["code"] == "message_too_large"
        assert (await sock.command("ping"))["type"] == "ack"
        await sock.close()

    asyncio.run(scenario())


def test_no_token_reaches_the_access_log(daphne):
    moderator_link = daphne.links["moderator console"]
    invite_link = daphne.links["participant invite"]
    secrets = [link.rstrip("/").rsplit("/", 1)[-1] for link in (moderator_link, invite_link)]
    for link in (moderator_link, invite_link):
        path = link.split("127.0.0.1", 1)[1]
        answer = post_raw(daphne.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(), [])
        assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    # Django logs a refused form with its path ("Forbidden (CSRF cookie not set.): /join/…").
    path = invite_link.split("127.0.0.1", 1)[1]
    answer = post_raw(daphne.port, (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\n\r\ndisplay_name=Eve").encode(), [])
    assert answer.startswith(b"HTTP/1.1 403"), answer[:100]

    async def scenario():
        sock = await Socket.open(daphne, secrets[0])
        await sock.settled()
        await sock.close()

    asyncio.run(scenario())
    deadline = time.monotonic() + 5
    while "WSDISCONNECT" not in daphne.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = daphne.log_text()
    assert "/join/" in log and "WSCONNECT" in log and "CSRF" in log, log[-2000:]
    for secret in secrets:
        assert secret not in log, f"a token in the log:\n{log[-2000:]}"


def allowed_cpus(pid):
    """Per thread of the process: the cores it may run on (Linux's Cpus_allowed_list)."""
    found = {}
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as status:
            found[task] = next(line.split(":", 1)[1].strip() for line in status if line.startswith("Cpus_allowed_list"))
    return found


async def test_with_plenum_cpu_every_thread_of_the_process_stays_on_that_core(tmp_path):
    env = server_env(tmp_path)
    links = prepare_demo(env, "http://127.0.0.1")
    cpu = max(os.sched_getaffinity(0))
    with Daphne(env, cpu=cpu) as server:
        # A socket makes daphne start its database thread: that one must be on the core too.
        token = links["moderator console"].rstrip("/").rsplit("/", 1)[-1]
        page = await Socket.open(server, token)
        await page.settled()
        await page.close()
        threads = allowed_cpus(server.process.pid)
    assert len(threads) >= 2 and set(threads.values()) == {str(cpu)}, threads


def test_autobahn_formats_its_debug_lines_only_when_they_are_logged():
    # Every frame sent to every socket formatted (and coloured) a debug line's arguments, logged
    # or not: a broadcast to a thousand sockets paid for a thousand of them.
    import autobahn.twisted.websocket
    import autobahn.websocket.protocol
    import txaio

    import venue.server  # noqa: F401  (patches autobahn as daphne runs it)

    level = txaio.get_global_log_level()
    try:
        txaio.set_global_log_level("info")
        for module in (autobahn.websocket.protocol, autobahn.twisted.websocket):
            assert "set the log level to debug" in module.hltype(test_autobahn_formats_its_debug_lines_only_when_they_are_logged)
        assert "set the log level to debug" in autobahn.websocket.protocol.hlval(42)
        txaio.set_global_log_level("debug")
        assert "test_autobahn_formats" in autobahn.websocket.protocol.hltype(test_autobahn_formats_its_debug_lines_only_when_they_are_logged)
        assert "42" in autobahn.websocket.protocol.hlval(42)
    finally:
        txaio.set_global_log_level(level)
