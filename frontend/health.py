"""What operators and their tools ask a process: is it up (/healthz), can it serve (/readyz), its
figures (/metrics, Prometheus text format, behind a bearer token).

These three answer before Django's host check and sessions (`Probes`, first in MIDDLEWARE): a
container healthcheck or Prometheus reaches a process by its own address, not the public host
name. The checks are shared with `manage.py doctor`.
"""

import asyncio
import hmac

from asgiref.sync import markcoroutinefunction
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from rooms.media import load
from venue import fanout, metrics

CHECK_SECONDS = 3


def _database_answers():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def database():
    """None if the database answers, else what is wrong."""
    try:
        await asyncio.wait_for(database_sync_to_async(_database_answers)(), CHECK_SECONDS)
    except TimeoutError:
        return f"the database did not answer within {CHECK_SECONDS} s"
    except Exception as error:
        return f"the database cannot be reached: {error}"
    return None


async def channel_layer():
    """None if a message sent to a fresh channel of the layer comes back, else what is wrong."""
    layer = get_channel_layer()
    try:
        # The default prefix: channels-redis reads those together with the sockets' channels.
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        message = await asyncio.wait_for(layer.receive(channel), CHECK_SECONDS)
    except TimeoutError:
        return f"the channel layer did not bring a message back within {CHECK_SECONDS} s"
    except Exception as error:
        return f"the channel layer cannot be reached: {error}"
    if message.get("type") != "health.ping":
        return f"the channel layer brought back {message.get('type')!r} instead of the message sent"
    return None


async def media_workers():
    """None if every media worker reported lately (or the SFU runs in this process), else which did not."""
    if settings.PLENUM_MEDIA != "worker":
        return None
    try:
        alive = await asyncio.wait_for(load.live_workers(), CHECK_SECONDS)
    except TimeoutError:
        return f"Redis did not say within {CHECK_SECONDS} s which media workers live"
    except Exception as error:
        return f"cannot read the media workers' reports from Redis: {error}"
    missing = sorted(set(range(settings.PLENUM_MEDIA_WORKERS)) - set(alive))
    if missing:
        return f"media worker(s) {', '.join(map(str, missing))} of {settings.PLENUM_MEDIA_WORKERS} have not reported for {load.stale_after():g} s"
    return None


READINESS = {"database": database, "channel_layer": channel_layer, "media_workers": media_workers}


async def readiness():
    """{check: None or what is wrong} for every check of /readyz, run side by side."""
    results = await asyncio.gather(*(check() for check in READINESS.values()))
    return dict(zip(READINESS, results))


async def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain")


async def readyz(request):
    problems = await readiness()
    ready = not any(problems.values())
    body = {"ready": ready, "checks": {name: problem or "ok" for name, problem in problems.items()}}
    return JsonResponse(body, status=200 if ready else 503, json_dumps_params={"ensure_ascii": False})


def _authorized(request):
    token = settings.PLENUM_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def metrics_view(request):
    if not _authorized(request):
        return HttpResponse(
            "Metrics need 'Authorization: Bearer <PLENUM_METRICS_TOKEN>'.\n",
            status=403, content_type="text/plain",
        )
    if settings.PLENUM_MEDIA == "worker":
        try:
            alive = await asyncio.wait_for(load.live_workers(), CHECK_SECONDS)
        except (TimeoutError, *fanout.ChannelLayerErrors):
            alive = None  # Redis away: the gauge keeps its last figures, /readyz says why
        if alive is not None:
            metrics.MEDIA_LOAD.clear()
            for index, streams in alive.items():
                metrics.MEDIA_LOAD.labels(str(index)).set(streams)
    return HttpResponse(generate_latest(metrics.REGISTRY), content_type=CONTENT_TYPE_LATEST)


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics_view}


class Probes:
    """Answers the probes' paths before the rest of the middleware (no host check, no session)."""

    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        markcoroutinefunction(self)

    async def __call__(self, request):
        probe = PROBES.get(request.path)
        if probe is None:
            return await self.get_response(request)
        return await probe(request)

