"""docker-compose.yml cannot run here (no Docker engine), so these check that it matches the code:
every variable it sets is one that Plenum reads, every command it runs exists, every media worker
index is started exactly once, and the proxy reaches every daphne service.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Read by the official images, not by Plenum.
IMAGE_VARIABLES = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"}

# Loads venue/settings.py in a fresh interpreter with an environment that notes every name asked for.
RECORD_READS = r"""
import json, os, sys
class Noting(dict):
    asked = set()
    def get(self, key, default=None):
        self.asked.add(key); return super().get(key, default)
    def __getitem__(self, key):
        self.asked.add(key); return super().__getitem__(key)
    def __contains__(self, key):
        self.asked.add(key); return super().__contains__(key)
os.environ = Noting(os.environ)
import venue.settings
print(json.dumps(sorted(os.environ.asked)))
"""


def settings_reads():
    out = subprocess.run(
        [sys.executable, "-c", RECORD_READS], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        # With a TURN server set, so that its user name and password are asked for too.
        env={"PATH": "/usr/bin:/bin", "PLENUM_VAR_DIR": "/tmp/plenum-compose-check", "PLENUM_TURN_URLS": "turn:127.0.0.1"},
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def plenum_services():
    return {name: service for name, service in SERVICES.items() if service.get("image") == "plenum:latest"}


def test_every_variable_set_for_plenum_is_one_that_its_settings_read():
    read = settings_reads()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS", "PLENUM_MEDIA_WORKERS"} <= read
    for name, service in plenum_services().items():
        unknown = set(service["environment"]) - read
        assert not unknown, f"{name} sets {sorted(unknown)}, which venue/settings.py never reads"
    for name, service in SERVICES.items():
        if name not in plenum_services():
            assert set(service.get("environment", {})) <= IMAGE_VARIABLES, name


def is_daphne(service):
    """Plenum's daphne (venue/server.py), which refuses oversized bodies before buffering them."""
    return service["command"][:3] == ["python", "-m", "venue.server"]


def test_no_service_runs_daphne_without_plenums_limits():
    for name, service in plenum_services().items():
        assert "daphne" not in service["command"][0], f"{name} runs daphne itself instead of venue.server"


def test_every_command_exists():
    commands = get_commands()
    for name, service in plenum_services().items():
        line = " ".join(service["command"])
        for management_command in re.findall(r"manage\.py (\w+)", line):
            assert management_command in commands, f"{name}: no manage.py {management_command}"
        if is_daphne(service):
            module, _, attribute = service["command"][-1].partition(":")
            assert (module, attribute) == ("venue.asgi", "application"), name


def test_each_media_worker_index_runs_exactly_once_in_the_hosts_network():
    workers = {
        name: service for name, service in plenum_services().items() if "plenum_media_worker" in service["command"]
    }
    counts = {int(service["environment"]["PLENUM_MEDIA_WORKERS"]) for service in plenum_services().values()}
    assert len(counts) == 1, "PLENUM_MEDIA_WORKERS must be the same in every process"
    indices = sorted(int(service["command"][service["command"].index("--index") + 1]) for service in workers.values())
    assert indices == list(range(counts.pop()))
    for name, service in plenum_services().items():
        assert service["environment"]["PLENUM_MEDIA"] == "worker", name
    for service in workers.values():
        # Browsers reach aiortc's random UDP ports only there.
        assert service["network_mode"] == "host"
        assert "127.0.0.1" in service["environment"]["DATABASE_URL"]
        assert "127.0.0.1" in service["environment"]["REDIS_URL"]


def test_the_proxy_spreads_over_every_daphne_service():
    daphnes = {name for name, service in plenum_services().items() if is_daphne(service)}
    assert len(daphnes) >= 2
    nginx = COMPOSE["configs"]["nginx"]["content"]
    upstream = re.search(r"upstream plenum \{(.*?)\}", nginx, re.DOTALL).group(1)
    assert set(re.findall(r"server (\w+):8000;", upstream)) == daphnes
    assert not re.search(r"^\s*ip_hash", upstream, re.MULTILINE)
    assert set(SERVICES["proxy"]["depends_on"]) == daphnes
