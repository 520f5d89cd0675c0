"""This process's Prometheus metrics: counters bumped where the work happens, read by /metrics.

Everything here is cheap on purpose: an increment per command, per join, per broadcast a process
delivers; nothing per socket at scrape time. Each daphne process serves its own figures
(`frontend/health.py`); Prometheus scrapes every process and sums (docs/operations.md).
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

# A "_created" series beside every counter doubles the scrape for nothing Plenum uses.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)

SOCKETS = Gauge(
    "plenum_sockets", "Open sockets of this process, by place (a room id, or none).",
    ["place"], registry=REGISTRY,
)
COMMANDS = Counter(
    "plenum_commands", "Commands received, by type and outcome (ok, refused, failed).",
    ["type", "outcome"], registry=REGISTRY,
)
REFUSED = Counter(
    "plenum_refused_commands", "Commands refused, by error code.", ["code"], registry=REGISTRY,
)
BROADCAST_SECONDS = Histogram(
    "plenum_broadcast_seconds",
    "From a frame's publishing (in any process) to its last local socket write in this one.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
JOINS = Counter(
    "plenum_joins", "Sockets that connected, by outcome (admitted, busy: told to try again later).",
    ["outcome"], registry=REGISTRY,
)
LAYER_DOUBTS = Counter(
    "plenum_layer_doubts",
    "Times this process's fan-out hub doubted its channel-layer memberships (a layer failure, or Redis restarted).",
    registry=REGISTRY,
)
RESYNCS = Counter(
    "plenum_resyncs",
    "Sockets asked to reconnect because Redis restarted (or was away longer than a message lives) while they were open.",
    registry=REGISTRY,
)
SHARED_TRIPS = Histogram(
    "plenum_shared_trip_requests",
    "Requests answered per shared trip to the database thread (venue/batching.py), by trip (admit, arrive).",
    ["trip"], buckets=(1, 2, 4, 8, 16, 32, 64), registry=REGISTRY,
)
MEDIA_LOAD = Gauge(
    "plenum_media_streams",
    "What each live media worker reports forwarding: its streams plus one per socket (read from Redis at scrape time).",
    ["worker"], registry=REGISTRY,
)

# A command type a client made up is not a label of its own: the label set stays bounded.
UNKNOWN = "unknown"


def command(kind, outcome):
    COMMANDS.labels(kind, outcome).inc()


def refused(code):
    REFUSED.labels(code).inc()


def place_label(room_id):
    return "none" if room_id is None else str(room_id)


def socket_moved(old, new):
    """A socket left place `old` (False: it had none yet) for `new` (False: it closed)."""
    if old is not False:
        SOCKETS.labels(place_label(old)).dec()
    if new is not False:
        SOCKETS.labels(place_label(new)).inc()
