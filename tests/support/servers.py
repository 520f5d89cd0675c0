"""Real server processes for tests and benchmarks: daphne (and what it needs) on 127.0.0.1.

Used by the browser tests, the scale-topology tests and bench/; each server gets its own
environment (database, channel layer) so that a test can start exactly the topology it needs.
"""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from types import SimpleNamespace

from aiosmtpd.controller import Controller as SmtpController

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=30, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def server_env(var_dir, **overrides):
    """The environment of a Plenum process: its own var dir, plus DATABASE_URL/REDIS_URL etc."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PLENUM_FANOUT"}}
    env["PLENUM_VAR_DIR"] = str(var_dir)
    env["DJANGO_SETTINGS_MODULE"] = "venue.settings"
    # A topology with DATABASE_URL or REDIS_URL is a deployment to venue/settings.py: it needs a
    # key of its own, the same in each of its processes.
    env.setdefault("SECRET_KEY", "plenum-test-servers-only-not-the-demo-key")
    env.update({k: str(v) for k, v in overrides.items() if v is not None})
    return env


def manage(env, *args):
    """Run a manage.py command in the given environment and return its stdout."""
    result = subprocess.run(
        [PYTHON, str(ROOT / "manage.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_demo(env, base_url):
    """Migrate and create the demo conference; returns {label: url} as the demo command prints it."""
    manage(env, "migrate", "--noinput", "-v0")
    out = manage(env, "plenum_demo", "--base-url", base_url)
    links = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].startswith("http"):
            links[" ".join(parts[:-1])] = parts[-1]
    return links


class ServerProcess:
    """A server child process with its own log file; a context manager. Subclasses say how to
    start it (`command`) and when it is ready (`wait_ready`)."""

    def __init__(self, env, log_path):
        self.env = env
        self.log_path = Path(log_path)
        self.process = None
        self.log = None

    def command(self):
        raise NotImplementedError

    def wait_ready(self):
        raise NotImplementedError

    def start(self):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()

    def kill(self):
        """SIGKILL, as a crash or the OOM killer would: the process gets no chance to clean up."""
        self.process.kill()
        self.process.wait()
        self.log.close()

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Daphne(ServerProcess):
    """One daphne process (Plenum's, venue/server.py) serving venue.asgi on 127.0.0.1."""

    def __init__(self, env, port=None, log_path=None, cpu=None):
        self.port = port or free_port()
        if cpu is not None:
            env = {**env, "PLENUM_CPU": str(cpu)}  # venue/server.py keeps the process on that core
        super().__init__(env, log_path or Path(env["PLENUM_VAR_DIR"]) / f"daphne-{self.port}.log")

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        # Plenum's daphne (venue/server.py), as docs/operations.md says to run it: a listen queue
        # for a join storm (Twisted's default is 50), and time for a handshake that waits its turn
        # at the door (frontend/admission.py).
        return [
            PYTHON, "-m", "venue.server", "-e", f"tcp:port={self.port}:interface=127.0.0.1:backlog=2048",
            "--websocket_connect_timeout", "30", "venue.asgi:application",
        ]

    def wait_ready(self):
        wait_for_port(self.port, process=self.process)


class MediaWorkerProcess(ServerProcess):
    """`manage.py plenum_media_worker --index N` (PLENUM_MEDIA=worker).

    It listens on no port: it reads its channel in Redis, so it is ready once it says so.
    """

    READY = "reading channel"

    def __init__(self, env, log_path=None, timeout=30, index=0):
        log_path = log_path or Path(env["PLENUM_VAR_DIR"]) / f"media-worker-{index}.log"
        super().__init__({**env, "PLENUM_MEDIA": "worker"}, log_path)
        self.timeout = timeout
        self.index = index

    def command(self):
        return [PYTHON, "-u", str(ROOT / "manage.py"), "plenum_media_worker", "--index", str(self.index)]

    def wait_ready(self):
        deadline = time.monotonic() + self.timeout
        while self.READY not in self.log_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"media worker exited with {self.process.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"media worker not ready after {self.timeout}s:\n{self.log_text()}")
            time.sleep(0.1)


@contextmanager
def media_topology(redis_server, postgres_cluster, var_dir, name, prepare=None, **overrides):
    """The production topology for media: database `name` in the PostgreSQL cluster, Redis
    flushed, the demo prepared (then `prepare(env, database_url)`, before anything starts), two
    media workers (PLENUM_MEDIA=worker) and two daphne processes. Yields what a test needs;
    stops every process in `workers` and `daphnes` afterwards (a test may add a successor)."""
    database_url = postgres_cluster.create_database(name)
    redis_server.flush()
    env = server_env(
        var_dir, DATABASE_URL=database_url, REDIS_URL=redis_server.url, CONN_MAX_AGE=60,
        PLENUM_MEDIA="worker", PLENUM_MEDIA_WORKERS=2, **overrides,
    )
    links = prepare_demo(env, "http://127.0.0.1")
    if prepare is not None:
        prepare(env, database_url)
    workers = [MediaWorkerProcess(env, index=index) for index in range(2)]
    daphnes = [Daphne(env), Daphne(env)]
    try:
        for process in (*workers, *daphnes):
            process.start()
        yield SimpleNamespace(env=env, database_url=database_url, links=links, workers=workers, daphnes=daphnes)
    finally:
        for process in (*workers, *daphnes):
            process.stop()
        postgres_cluster.drop_database(name)


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 in its own thread; `messages` holds what it got,
    parsed (`email.message.EmailMessage`), in the order it accepted them."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def start(self):
        self._controller = SmtpController(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        self._controller.stop()

    def settings(self):
        """Django settings that send through this server."""
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": self.port, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False}

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]
