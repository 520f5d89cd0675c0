"""Broadcast fan-out benchmark (issue 11): a join storm of N participants, then the moderator's "Weiter".

The benchmark is its own process and starts the servers itself (tests/support/servers.py,
tests/support/topology.py): small sizes on one daphne with the embedded defaults (SQLite,
in-memory layer), large ones on two daphne processes with PostgreSQL and redis-server, as in
production. Participants are plain `websockets` clients in one or two client processes; the
moderator's socket is in this process.
It reports connect times, the latency from the moderator's `agenda.next` to each participant's
frame with the new live title, every participant accounted for, and each server's CPU and memory.

    .venv/bin/python bench/broadcast.py                       # 100, 500, 1000 embedded; 2000 at scale
    .venv/bin/python bench/broadcast.py --sizes 100 --rounds 3 --compare ""
"""

import argparse
import asyncio
import base64
import html
import json
import multiprocessing
import os
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.servers import Daphne, manage, prepare_demo, server_env  # noqa: E402
from tests.support.topology import PostgresCluster, RedisServer  # noqa: E402

# The demo agenda in order; round k of the benchmark makes item k live.
AGENDA_TITLES = [
    "Begrüßung",
    "Integrationspolitik des Landes NRW – mit Fragen",
    "Wissenschaftlicher Input: Integration als gemeinsamer Tisch",
    "Podiumsgespräch mit Fragen aus dem Publikum",
    "Mittagspause an den Stehtischen",
    "Fachforen",
    "Ergebnisse der Fachforen im Plenum",
    "Abschluss",
    "Offener Stehtisch",
]
LIVE_TITLE = b'<h1 class="live-title">'

PEOPLE_SNIPPET = """
from frontend import demo
from venue.models import Person, Role
conference = demo.create()
people = Person.objects.bulk_create(
    [Person(conference=conference, display_name=f"Lastprobe {i:05d}", organization="bench")
     for i in range({count})],
    batch_size=500,
)
print("moderator", conference.people.filter(role=Role.MODERATOR).first().token)
for person in people:
    print("participant", person.token)
"""


# ---------------------------------------------------------------------------------------------
# Measuring processes from the outside: /proc/<pid>/stat, /proc/<pid>/status and /proc/stat.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """User + system CPU seconds of one process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name may contain spaces; the fields after its closing parenthesis do not.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def event_loop_cpu_seconds(pid):
    """CPU seconds of a process's main thread (daphne's event loop; the rest is the database
    thread and other executors): /proc/<pid>/task/<pid>/stat."""
    with open(f"/proc/{pid}/task/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def tree_cpu_seconds(pid):
    """CPU seconds of a process and its live children (PostgreSQL's backends)."""
    total = 0.0
    for member in [pid, *children_of(pid)]:
        try:
            total += process_cpu_seconds(member)
        except OSError:
            continue  # a backend that ended in between
    return total


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def machine_busy_seconds():
    """CPU seconds all cores spent busy so far (everything but idle and iowait in /proc/stat)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def raise_open_file_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values, fraction):
    """Nearest-rank percentile: the value that `fraction` of the sorted values do not exceed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


# ---------------------------------------------------------------------------------------------
# Client processes: many participants' sockets each, driven by the coordinator over a pipe.


def ws_url(port, token):
    return f"ws://127.0.0.1:{port}/ws/venue/?token={token}&lang=de"


class ClosedEarly(ConnectionError):
    """The server closed the connection before the first frame."""


class Busy(ConnectionError):
    """The server's door said "try again in N s" (frontend/admission.py); the page does so."""

    def __init__(self, seconds):
        super().__init__(f"busy, try again in {seconds} s")
        self.seconds = seconds


BUSY = b'{"type": "error", "code": "busy"'


def classify(error):
    from websockets.exceptions import InvalidMessage, InvalidStatus

    if isinstance(error, HandshakeRefused):
        return f"refused: HTTP {error.status}"
    if isinstance(error, InvalidStatus):
        return f"refused: HTTP {error.response.status_code}"
    if isinstance(error, InvalidMessage):
        return "closed during the handshake"
    if isinstance(error, ConnectionRefusedError):
        return "refused: TCP"
    if isinstance(error, ClosedEarly):
        return "closed before the first frame"
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"failed: {type(error).__name__}"


class HandshakeRefused(ConnectionError):
    """The server answered the upgrade with another status than 101."""

    def __init__(self, status):
        super().__init__(f"HTTP {status}")
        self.status = status


class ParticipantSocket(asyncio.Protocol):
    """One participant's socket, as little WebSocket client as the measurement needs.

    The load generator shares the machine with the servers, so each socket costs it as little as
    possible: the upgrade request is written as bytes and the response only checked for its
    status; the server's frames (never masked) are cut from the byte stream by their headers and
    looked at in data_received, when they reach this process, so that the latency measured is
    the server's and not a client queue's. It answers pings and sends masked text and close frames,
    which is all the server asks of a client.
    """

    _KEY = base64.b64encode(b"plenum-bench-key").decode()

    def __init__(self, uri, origin, on_text):
        parts = urlsplit(uri)
        self.request = (
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self._KEY}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\n\r\n"
        ).encode()
        self.on_text = on_text
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None
        self.upgraded = False
        self.closed = False
        self._buffer = bytearray()
        self._fragments = []

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        at = time.monotonic()
        buffer = self._buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[9:12])
            if not buffer.startswith(b"HTTP/1.1 ") or status != b"101":
                self._fail(HandshakeRefused(status.decode("latin-1")))
                return
            self.upgraded = True
            del buffer[:end + 4]
        position = 0
        size = len(buffer)
        while size - position >= 2:
            first, length = buffer[position], buffer[position + 1] & 0x7F
            header = 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2:position + 4], "big")
                header = 4
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2:position + 10], "big")
                header = 10
            if size - position < header + length:
                break
            payload = bytes(buffer[position + header:position + header + length])
            position += header + length
            self._frame(first & 0x80, first & 0x0F, payload, at)
        del buffer[:position]

    def _frame(self, fin, opcode, payload, at):
        if opcode in (0x1, 0x0):
            self._fragments.append(payload)
            if not fin:
                return
            text = b"".join(self._fragments) if len(self._fragments) > 1 else payload
            self._fragments = []
            if not self.opened.done():
                if text.startswith(BUSY):
                    self.opened.set_exception(Busy(json.loads(text)["retry_after"]))
                    return
                self.opened.set_result(at)  # the current state, sent to every socket that connects
            else:
                self.on_text(text, at)
        elif opcode == 0x9:  # ping: the server drops a socket that does not answer
            self._send(0xA, payload)
        elif opcode == 0x8:
            if not self.opened.done():
                self._fail(ClosedEarly())
                return
            if not self.closed:
                self.closed = True
                self._send(0x8, payload[:2])
            self.transport.close()

    def _send(self, opcode, payload):
        # Client frames are masked; a zero mask leaves the payload as it is (and costs nothing).
        length = len(payload)
        if length < 126:
            header = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
        self.transport.write(header + b"\0\0\0\0" + payload)

    def send_text(self, data):
        """One text frame (`data`: UTF-8 bytes)."""
        self._send(0x1, data)

    def _fail(self, error):
        if not self.opened.done():
            self.opened.set_exception(error)
        self.transport.close()

    def connection_lost(self, exc):
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(exc or ClosedEarly())

    def close(self):
        if self.transport.is_closing():
            return
        if self.upgraded and not self.closed:  # not when the server closed first (a "busy" socket)
            self.closed = True
            self._send(0x8, (1000).to_bytes(2, "big"))
        self.transport.close()


class Participants:
    """The sockets of one client process, each recording when it first saw each live title."""

    def __init__(self, targets):
        self.targets = targets  # [(port, token)]
        self.sockets = [None] * len(targets)
        self.connect_seconds = [None] * len(targets)
        self.failures = {}
        self.seen = [dict() for _ in targets]  # per socket: title -> monotonic time first seen
        self.seen_count = {}
        self._failed_indices = set()
        self.busy = 0  # times a socket was told to come back later (not a failure: it does)

    async def storm(self, deadline_seconds):
        """Every socket connects at once; returns connect times and failures by kind."""
        cpu_before = cpu_now()
        started = time.monotonic()
        tasks = [asyncio.ensure_future(self._open(i, port, token)) for i, (port, token) in enumerate(self.targets)]
        _done, pending = await asyncio.wait(tasks, timeout=deadline_seconds)
        for task in pending:
            task.cancel()
        for index, seconds in enumerate(self.connect_seconds):
            if seconds is None and index not in self._failed_indices:
                self._fail(index, "not connected within the storm deadline")
        return {
            "wall": time.monotonic() - started,
            "connect_seconds": [s for s in self.connect_seconds if s is not None],
            "failures": self.failures,
            "busy": self.busy,
            "cpu": cpu_now(),
            "storm_cpu": cpu_now() - cpu_before,
        }

    async def top_up(self, at_once, deadline_seconds):
        """Connect the sockets that the storm lost, `at_once` at a time, so that rounds measure N."""
        missing = [i for i, socket in enumerate(self.sockets) if socket is None]
        self.failures, self._failed_indices = {}, set()
        gate = asyncio.Semaphore(at_once)

        async def one(index):
            async with gate:
                await self._open(index, *self.targets[index])

        tasks = [asyncio.ensure_future(one(i)) for i in missing]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=deadline_seconds)
            for task in pending:
                task.cancel()
        return {
            "missing": len(missing),
            "connected": sum(1 for i in missing if self.sockets[i] is not None),
            "failures": self.failures,
            "cpu": cpu_now(),
        }

    def _fail(self, index, reason):
        self._failed_indices.add(index)
        self.failures[reason] = self.failures.get(reason, 0) + 1

    async def _open(self, index, port, token):
        from websockets.exceptions import WebSocketException

        loop = asyncio.get_running_loop()
        seen = self.seen[index]

        def on_text(text, at):
            begin = text.find(LIVE_TITLE)
            if begin < 0:
                return
            begin += len(LIVE_TITLE)
            title = text[begin:text.find(b"</h1>", begin)].decode()
            if title not in seen:
                seen[title] = at
                self.seen_count[title] = self.seen_count.get(title, 0) + 1

        started = time.monotonic()
        socket = None
        try:
            while True:
                _transport, socket = await loop.create_connection(
                    lambda: ParticipantSocket(ws_url(port, token), f"http://127.0.0.1:{port}", on_text),
                    "127.0.0.1", port,
                )
                try:
                    await socket.opened
                    break
                except Busy as busy:
                    # As the page does (frontend/static/plenum/retry.js): the pause asked for, plus jitter.
                    socket.close()
                    socket = None
                    self.busy += 1
                    await asyncio.sleep(busy.seconds * (1 + random.random()))
        except (OSError, TimeoutError, WebSocketException) as error:
            # A refused handshake, a reset or a close before the first frame: counted by kind.
            self._fail(index, classify(error))
            if socket is not None:
                socket.close()
            return
        except asyncio.CancelledError:
            if socket is not None:
                socket.close()
            raise
        self.connect_seconds[index] = time.monotonic() - started
        self.sockets[index] = socket

    async def collect(self, title, deadline):
        """Every connected socket's first-seen time of `title`, waiting until `deadline` at most."""
        connected = sum(1 for s in self.sockets if s is not None)
        while self.seen_count.get(title, 0) < connected and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return {
            "arrivals": [seen.get(title) for seen, s in zip(self.seen, self.sockets) if s is not None],
            "cpu": cpu_now(),
        }

    async def close(self):
        for socket in self.sockets:
            if socket is not None:
                socket.close()
        await asyncio.sleep(0.5)  # lets the close frames go out before the process ends


def cpu_now():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_process(pipe, targets):
    raise_open_file_limit()
    asyncio.run(_client_main(pipe, targets))


async def answer_commands(pipe, handlers, close):
    """A client process's loop: runs the coordinator's commands one after another and sends back
    what each returns; "close" calls `close()`, answers with this process's CPU and ends."""
    loop = asyncio.get_running_loop()
    while True:
        command, *args = await loop.run_in_executor(None, pipe.recv)
        if command == "ready":
            pipe.send({"pid": os.getpid()})
        elif command == "close":
            await close()
            pipe.send({"cpu": cpu_now()})
            return
        else:
            pipe.send(await handlers[command](*args))


async def _client_main(pipe, targets):
    participants = Participants(targets)
    handlers = {"storm": participants.storm, "top_up": participants.top_up, "collect": participants.collect}
    await answer_commands(pipe, handlers, participants.close)


class Clients:
    """The coordinator's handle on client processes: `targets` split over `processes` of them,
    each running `target(pipe, its share)` (a loop of `answer_commands`)."""

    def __init__(self, targets, processes, target=None):
        context = multiprocessing.get_context("spawn")
        self.pipes, self.processes, self.parts = [], [], []
        for part in range(processes):
            ours, theirs = context.Pipe()
            share = targets[part::processes]
            process = context.Process(target=target or client_process, args=(theirs, share), daemon=True)
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)
            self.parts.append(len(share))

    async def ask(self, *message):
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            pipe.send(message)
        return await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for pipe in self.pipes))

    async def ask_one(self, part, *message):
        loop = asyncio.get_running_loop()
        self.pipes[part].send(message)
        return await loop.run_in_executor(None, self.pipes[part].recv)

    def stop(self):
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join()


# ---------------------------------------------------------------------------------------------
# One run: a topology, N participants, a storm and several rounds of "Weiter".


@dataclass
class Run:
    size: int
    fanout: str
    topology: str
    daphnes: int
    storm: dict = field(default_factory=dict)
    rounds: list = field(default_factory=list)
    servers: list = field(default_factory=list)
    services: dict = field(default_factory=dict)
    clients_cpu: float = 0.0
    machine_busy: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def median(self, key):
        values = [r[key] for r in self.rounds if r[key] == r[key]]  # skip NaN (nobody received)
        return statistics.median(values) if values else float("nan")


class Meter:
    """CPU seconds of the servers, the services and the machine between two marks."""

    def __init__(self, daphnes, services):
        self.daphnes = daphnes
        self.services = services  # name -> (pid, include_children)

    def read(self):
        return {
            "daphne": [process_cpu_seconds(d.process.pid) for d in self.daphnes],
            "loop": [event_loop_cpu_seconds(d.process.pid) for d in self.daphnes],
            "services": {
                name: (tree_cpu_seconds(pid) if tree else process_cpu_seconds(pid))
                for name, (pid, tree) in self.services.items()
            },
            "machine": machine_busy_seconds(),
            "wall": time.monotonic(),
        }

    @staticmethod
    def between(before, after):
        return {
            "wall": after["wall"] - before["wall"],
            "daphne": [a - b for a, b in zip(after["daphne"], before["daphne"])],
            "loop": [a - b for a, b in zip(after["loop"], before["loop"])],
            "services": {k: after["services"][k] - before["services"][k] for k in after["services"]},
            "machine": after["machine"] - before["machine"],
        }

    async def quiet(self, limit=10.0, window=0.5, threshold=0.05):
        """Wait until the daphnes spend under `threshold` CPU seconds per `window` (e.g. after a storm)."""
        deadline = time.monotonic() + limit
        last = sum(self.read()["daphne"])
        while time.monotonic() < deadline:
            await asyncio.sleep(window)
            now = sum(self.read()["daphne"])
            if now - last < threshold:
                return True
            last = now
        return False


def create_people(env, count):
    out = manage(env, "shell", "-c", PEOPLE_SNIPPET.replace("{count}", str(int(count))))
    moderator, participants = None, []
    for line in out.splitlines():
        kind, _, token = line.partition(" ")
        if kind == "moderator":
            moderator = token
        elif kind == "participant":
            participants.append(token)
    if moderator is None or len(participants) != count:
        raise RuntimeError(f"expected a moderator and {count} participants, got:\n{out[:2000]}")
    return moderator, participants


async def moderator_socket(port, token, attempts=5):
    """The moderator's console socket; like a browser, it tries again if a busy server drops it."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    for attempt in range(1, attempts + 1):
        try:
            socket = await connect(
                ws_url(port, token), origin=f"http://127.0.0.1:{port}",
                compression=None, proxy=None, ping_interval=None, max_size=None,
            )
            await socket.recv()
            return socket, attempt
        except (OSError, TimeoutError, WebSocketException):
            if attempt == attempts:
                raise
            await asyncio.sleep(2)


async def advance(socket, message_id):
    """Send agenda.next; returns (send time, ack time). Frames before the ack are skipped."""
    sent = time.monotonic()
    await socket.send(json.dumps({"type": "agenda.next", "id": message_id}))
    while True:
        frame = await asyncio.wait_for(socket.recv(), 30)
        if frame.startswith("{"):
            reply = json.loads(frame)
            if reply.get("id") == message_id:
                if reply.get("type") != "ack":
                    raise RuntimeError(f"agenda.next refused: {reply}")
                return sent, time.monotonic()


async def drive(run, daphnes, env, moderator, participants, meter, args):
    ports = [d.port for d in daphnes]
    # Participants alternate between the processes, as a proxy without stickiness would spread them.
    targets = [(ports[i % len(ports)], token) for i, token in enumerate(participants)]
    client_processes = args.client_processes or (1 if run.size <= 1000 else 2)
    clients = Clients(targets, client_processes)
    try:
        await clients.ask("ready")
        before = meter.read()
        storms = await clients.ask("storm", args.storm_seconds)
        after = meter.read()
        connect_seconds = [s for storm in storms for s in storm["connect_seconds"]]
        failures = {}
        for storm in storms:
            for reason, count in storm["failures"].items():
                failures[reason] = failures.get(reason, 0) + count
        run.storm = {
            "wall": max(storm["wall"] for storm in storms),
            "connected": len(connect_seconds),
            "p50": percentile(connect_seconds, 0.5),
            "p99": percentile(connect_seconds, 0.99),
            "max": max(connect_seconds, default=float("nan")),
            "failures": failures,
            "busy": sum(storm["busy"] for storm in storms),
            "cpu": Meter.between(before, after),
            "clients_cpu": sum(storm["storm_cpu"] for storm in storms),
        }
        connected = len(connect_seconds)
        settled = await meter.quiet(limit=15)
        if not settled:
            run.notes.append("servers were still busy 15 s after the storm")
        if connected < run.size and args.top_up:
            # The storm's failures are its result; the rounds still measure all N sockets.
            top_ups = await clients.ask("top_up", args.top_up, 60.0)
            added = sum(reply["connected"] for reply in top_ups)
            still = {}
            for reply in top_ups:
                for reason, count in reply["failures"].items():
                    still[reason] = still.get(reason, 0) + count
            run.storm["topped_up"] = added
            connected += added
            run.notes.append(
                f"{added} of {run.size - run.storm['connected']} sockets the storm lost connected afterwards, "
                f"{args.top_up} at a time" + (f"; still failing: {still}" if still else "")
            )
            await meter.quiet(limit=15)

        socket, attempts = await moderator_socket(ports[0], moderator)
        if attempts > 1:
            run.notes.append(f"the moderator's socket connected at attempt {attempts}")
        # The moderator's own arrival is announced to the console a second later; let it pass.
        await asyncio.sleep(1.5)
        await meter.quiet(limit=5)
        clients_cpu_before = sum(storm["cpu"] for storm in storms)
        rounds_before = meter.read()
        for number in range(1, args.rounds + 1):
            title = html.escape(AGENDA_TITLES[number - 1])
            before = meter.read()
            sent, acked = await advance(socket, number)
            replies = await clients.ask("collect", title, sent + args.round_seconds)
            after = meter.read()
            arrivals = [a for reply in replies for a in reply["arrivals"]]
            latencies = [a - sent for a in arrivals if a is not None]
            lost = sum(1 for a in arrivals if a is None)
            run.rounds.append({
                "title": AGENDA_TITLES[number - 1],
                "received": len(latencies),
                "lost": lost,
                "not_connected": run.size - connected,
                "ack": acked - sent,
                "p50": percentile(latencies, 0.5),
                "p99": percentile(latencies, 0.99),
                "max": max(latencies, default=float("nan")),
                "cpu": Meter.between(before, after),
            })
            await meter.quiet(limit=5)
        rounds_after = meter.read()
        run.machine_busy = {"rounds": Meter.between(rounds_before, rounds_after)}
        await socket.close()
        closing = await clients.ask("close")
        run.clients_cpu = sum(reply["cpu"] for reply in closing) - clients_cpu_before
    finally:
        clients.stop()
    run.servers = [{"pid": d.process.pid, "peak_rss_mib": peak_rss_mib(d.process.pid)} for d in daphnes]
    for daphne in daphnes:
        tracebacks = daphne.log_text().count("Traceback")
        if tracebacks:
            run.notes.append(f"daphne {daphne.process.pid} logged {tracebacks} tracebacks ({daphne.log_path})")


def run_one(size, fanout, scale, services, args):
    var_dir = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    topology = "2 daphne + Redis + PostgreSQL" if scale else "1 daphne, SQLite + in-memory layer"
    run = Run(size=size, fanout=fanout, topology=topology, daphnes=2 if scale else 1)
    overrides = {"PLENUM_FANOUT": fanout, "LOG_LEVEL": "WARNING"}
    database = None
    if scale:
        redis, postgres = services
        redis.flush()
        database = f"bench_{size}_{fanout}"
        overrides.update(
            DATABASE_URL=postgres.create_database(database),
            REDIS_URL=redis.url,
            # One kept connection per daphne thread instead of a new PostgreSQL backend per query.
            CONN_MAX_AGE=60,
        )
    env = server_env(var_dir, **overrides)
    daphnes = []
    try:
        prepare_demo(env, "http://127.0.0.1")
        moderator, participants = create_people(env, size)
        cpus = sorted(os.sched_getaffinity(0))
        daphnes = [
            Daphne(env, cpu=cpus[index % len(cpus)] if args.pin else None).start() for index in range(run.daphnes)
        ]
        watched = {}
        if scale:
            watched = {"redis-server": (services[0].pid, False), "postgres": (services[1].pid, True)}
        meter = Meter(daphnes, watched)
        asyncio.run(drive(run, daphnes, env, moderator, participants, meter, args))
    finally:
        for daphne in daphnes:
            daphne.stop()
        if database:
            services[1].drop_database(database)
        if args.keep:
            print(f"  (kept {var_dir})")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return run


# ---------------------------------------------------------------------------------------------
# Reporting.


def ms(seconds):
    return "—" if seconds != seconds else f"{seconds * 1000:.0f}"


def print_run(run):
    storm = run.storm
    failures = ", ".join(f"{n} {reason}" for reason, n in storm["failures"].items()) or "none"
    print(f"\n== N={run.size}, {run.topology}, fan-out per {run.fanout}")
    print(
        f"  join storm: {storm['connected']}/{run.size} connected in {storm['wall']:.1f} s; "
        f"connect p50 {ms(storm['p50'])} ms, p99 {ms(storm['p99'])} ms, max {ms(storm['max'])} ms; "
        f"refused/failed: {failures}; told to come back later: {storm.get('busy', 0)} times"
    )
    cpu = storm["cpu"]
    print(
        "  storm CPU s: daphne " + " + ".join(f"{c:.1f}" for c in cpu["daphne"])
        + " (event loop " + " + ".join(f"{c:.1f}" for c in cpu["loop"]) + ")"
        + "".join(f", {k} {v:.1f}" for k, v in cpu["services"].items())
        + f", clients {storm['clients_cpu']:.1f}; machine busy {cpu['machine']:.1f} of {cpu['wall'] * os.cpu_count():.1f} over {cpu['wall']:.1f} s"
    )
    print("  round  title                                      recv  lost  ack ms  p50 ms  p99 ms  max ms  daphne CPU s")
    for number, r in enumerate(run.rounds, start=1):
        print(
            f"  {number:>5}  {r['title'][:42]:<42} {r['received']:>5} {r['lost'] + r['not_connected']:>5}"
            f" {ms(r['ack']):>7} {ms(r['p50']):>7} {ms(r['p99']):>7} {ms(r['max']):>7}"
            f"  {' + '.join(f'{c:.2f}' for c in r['cpu']['daphne'])}"
        )
    print(
        f"  median over rounds: p50 {ms(run.median('p50'))} ms, p99 {ms(run.median('p99'))} ms, "
        f"max {ms(run.median('max'))} ms"
    )
    window = run.machine_busy.get("rounds")
    if window:
        print(
            "  rounds CPU s: daphne " + " + ".join(f"{c:.2f}" for c in window["daphne"])
            + "".join(f", {k} {v:.2f}" for k, v in window["services"].items())
            + f", clients {run.clients_cpu:.2f}; machine busy {window['machine']:.2f}"
            f" of {window['wall'] * os.cpu_count():.1f} over {window['wall']:.1f} s"
        )
    print("  peak RSS MiB: " + ", ".join(f"daphne {s['pid']} {s['peak_rss_mib']:.0f}" for s in run.servers))
    for note in run.notes:
        print(f"  note: {note}")


def summary(runs):
    print("\n== Summary (medians over rounds)")
    print("  N      topology                              fan-out  connected  refused  lost  p50 ms  p99 ms  max ms  peak RSS MiB")
    for run in runs:
        rss = "/".join(f"{server['peak_rss_mib']:.0f}" for server in run.servers)
        lost = sum(r["lost"] for r in run.rounds)
        refused = run.size - run.storm["connected"]
        print(
            f"  {run.size:<6} {run.topology:<37} {run.fanout:<8} {run.storm['connected']:>9} {refused:>8} {lost:>5}"
            f" {ms(run.median('p50')):>7} {ms(run.median('p99')):>7} {ms(run.median('max')):>7}"
            f"  {rss}"
        )
    by_key = {(run.size, run.fanout): run for run in runs}
    for (size, fanout), run in sorted(by_key.items()):
        if fanout != "process" or (size, "socket") not in by_key:
            continue
        process_p99, socket_p99 = run.median("p99"), by_key[(size, "socket")].median("p99")
        print(f"  N={size}: p99 per socket / per process = {ms(socket_p99)} / {ms(process_p99)} ms = {socket_p99 / process_p99:.1f}×")


def parse_sizes(text):
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000,2000", help="participants per run, comma-separated")
    parser.add_argument("--compare", default="1000,2000", help="sizes also run with PLENUM_FANOUT=socket")
    parser.add_argument("--scale-from", type=int, default=2000,
                        help="sizes from this up run on two daphne + Redis + PostgreSQL")
    parser.add_argument("--rounds", type=int, default=5, help="agenda.next per run (at most 9)")
    parser.add_argument("--storm-seconds", type=float, default=20.0, help="deadline for the join storm")
    parser.add_argument("--round-seconds", type=float, default=10.0, help="after this a participant counts as lost")
    parser.add_argument("--top-up", type=int, default=50,
                        help="connect what the storm lost this many at a time before the rounds (0: don't)")
    parser.add_argument("--client-processes", type=int, default=0, help="default: 1 up to 1000 sockets, else 2")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="let the system place the daphne processes (default: one core each, PLENUM_CPU)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep each run's var dir (logs, SQLite)")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= len(AGENDA_TITLES):
        parser.error(f"--rounds must be 1..{len(AGENDA_TITLES)}")

    files = raise_open_file_limit()  # the daphne processes inherit it
    sizes = parse_sizes(args.sizes)
    compare = set(parse_sizes(args.compare))
    plan = [(size, fanout) for size in sizes for fanout in (("process", "socket") if size in compare else ("process",))]
    print(f"Broadcast fan-out benchmark: {os.cpu_count()} CPUs, open files {files}, plan {plan}")

    runs = []
    services = None
    try:
        if any(size >= args.scale_from for size, _ in plan):
            services = (RedisServer().start(), PostgresCluster().start())
        for size, fanout in plan:
            run = run_one(size, fanout, size >= args.scale_from, services, args)
            print_run(run)
            runs.append(run)
    finally:
        if services:
            for service in services:
                service.stop()
    summary(runs)
    if args.json:
        Path(args.json).write_text(json.dumps([run.__dict__ for run in runs], indent=2))


if __name__ == "__main__":
    main()
