"""Real backing services for tests and benchmarks: a redis-server and a throwaway PostgreSQL cluster.

Each listens on a free port on 127.0.0.1 with its data in a temporary directory that is deleted
afterwards. A missing binary is a failure, never a skip: CI sets CI=true, and a skipped topology
test would hide that the scale topology went untested.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.servers import free_port

POSTGRES_USER = "postgres"


class MissingService(RuntimeError):
    """A server binary the scale topology needs is not installed."""


def find_redis_server():
    binary = os.environ.get("PLENUM_REDIS_SERVER") or shutil.which("redis-server")
    if not binary or not os.access(binary, os.X_OK):
        raise MissingService(
            "redis-server is not installed (Debian: apt-get install redis-server, or run "
            "scripts/setup.sh --with-test-services); set PLENUM_REDIS_SERVER to use another binary."
        )
    return binary


def _pg_version(bindir):
    # /usr/lib/postgresql/15/bin -> (15,); the highest installed major version wins.
    name = Path(bindir).parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def find_postgres_bindir():
    """The directory holding initdb, pg_ctl and postgres (Debian keeps them off PATH)."""
    candidates = []
    if os.environ.get("PLENUM_PG_BINDIR"):
        candidates.append(os.environ["PLENUM_PG_BINDIR"])
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(os.path.dirname(on_path))
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_pg_version, reverse=True))
    for bindir in candidates:
        if all(os.access(os.path.join(bindir, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise MissingService(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed (Debian: apt-get "
        "install postgresql, or run scripts/setup.sh --with-test-services); set PLENUM_PG_BINDIR "
        "to their directory."
    )


def _tmpdir(prefix):
    # Directly under the system temp dir: pytest's own tmp dirs are root-only (0700), and the
    # PostgreSQL server must be able to reach its data directory as the postgres user.
    return Path(tempfile.mkdtemp(prefix=prefix))


def _stop(process, timeout=10):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class RedisServer:
    """A redis-server on 127.0.0.1 without persistence; a context manager."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.process = None
        self.dir = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self, timeout=15):
        binary = find_redis_server()
        self.dir = _tmpdir("topology-redis-")
        self.log_path = self.dir / "redis.log"
        self.process = subprocess.Popen(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.dir),
                "--logfile", str(self.log_path),
                "--daemonize", "no",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if self.command("PING") == b"+PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"redis-server on port {self.port} did not answer PING within {timeout}s")

    def command(self, *args):
        """One command in Redis' inline protocol, returning the first reply line (enough for PING/FLUSHALL)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(" ".join(args).encode() + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.strip()

    def flush(self):
        if self.command("FLUSHALL") != b"+OK":
            raise RuntimeError("redis FLUSHALL failed")

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.dir and self.log_path.exists() else ""

    def stop(self):
        _stop(self.process)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class PostgresCluster:
    """A PostgreSQL cluster made by initdb in a temporary directory, on 127.0.0.1; a context manager.

    It trusts local connections and does not fsync: it lives for one test session or benchmark.
    When run as root, the server runs as the postgres user (PostgreSQL refuses to run as root).
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = None
        self.bindir = None
        self.started = False

    def url(self, database="postgres"):
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def data_dir(self):
        return self.dir / "data"

    @property
    def pid(self):
        """The postmaster's pid (its backends are its children)."""
        pidfile = self.data_dir / "postmaster.pid"
        return int(pidfile.read_text().split()[0]) if pidfile.exists() else None

    def _as_owner(self, *args):
        if os.geteuid() == 0:
            return ["runuser", "-u", POSTGRES_USER, "--", *args]
        return list(args)

    def _run(self, *args, timeout=60):
        result = subprocess.run(
            self._as_owner(*args), capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, cwd=self.dir,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, timeout=60):
        self.bindir = find_postgres_bindir()
        self.dir = _tmpdir("topology-pg-")
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                self.stop()
                raise MissingService(
                    "running as root, but there is no 'postgres' user to run PostgreSQL as "
                    "(Debian's postgresql package creates it)."
                ) from None
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        tool = lambda name: os.path.join(self.bindir, name)  # noqa: E731
        try:
            self._run(
                tool("initdb"), "-D", str(self.data_dir), "-U", POSTGRES_USER, "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )
            options = " ".join([
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.dir}",
                # Throwaway data: durability would only slow the tests down.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ])
            self._run(
                tool("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.dir / "postgres.log"),
                "-o", options, "-w", "-t", str(timeout), "start",
                timeout=timeout + 10,
            )
            self.started = True
        except BaseException:
            log = self.log_text()
            self.stop()
            if log:
                raise RuntimeError(f"PostgreSQL did not start; its log:\n{log}") from None
            raise
        return self

    def log_text(self):
        path = self.dir / "postgres.log" if self.dir else None
        return path.read_text(errors="replace") if path and path.exists() else ""

    def _admin(self, sql):
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, name=None):
        """A new, empty database; returns its DATABASE_URL."""
        name = name or f"plenum_{uuid.uuid4().hex[:12]}"
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a plain database name: {name!r}")
        # FORCE ends sessions that a stopped daphne may have left for a moment.
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self):
        if self.started:
            self._run(
                os.path.join(self.bindir, "pg_ctl"), "-D", str(self.data_dir),
                "-m", "fast", "-w", "-t", "30", "stop", timeout=40,
            )
            self.started = False
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_or_fail(start):
    """Start a backing service, or fail the test (never skip it) when its binary is missing."""
    try:
        return start()
    except MissingService as missing:
        pytest.fail(str(missing), pytrace=False)
