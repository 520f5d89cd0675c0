"""`manage.py doctor`: is this deployment ready for the day? Each check says what to fix; any failure exits 1."""

import asyncio
import re

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from frontend import health


class Check:
    """One finding: `problem` is None when all is well; `fix` says what an operator does about it."""

    def __init__(self, name, problem=None, fix="", note=""):
        self.name, self.problem, self.fix, self.note = name, problem, fix, note


def database():
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:
        return Check(
            "database", f"cannot reach the database: {error}",
            "check DATABASE_URL (host, port, user, password, database name) and that PostgreSQL runs",
        )
    if plan:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _backwards in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        return Check(
            "database", f"{len(plan)} migration(s) not applied: {names}{more}",
            "run `python manage.py migrate --noinput` once, before the daphne processes start",
        )
    return Check("database", note=f"{connection.vendor}, migrated")


def channel_layer():
    if not settings.REDIS_URL:
        if settings.PLENUM_MEDIA == "worker":
            return Check(
                "channel layer", "PLENUM_MEDIA=worker needs Redis, but REDIS_URL is not set",
                "set REDIS_URL (redis://host:6379/0) in every daphne process and media worker",
            )
        return Check("channel layer", note="in-memory: one daphne process only; set REDIS_URL for more")
    problem = asyncio.run(health.channel_layer())
    if problem:
        return Check(
            "channel layer", f"{problem} (REDIS_URL={settings.REDIS_URL})",
            "start Redis, or correct REDIS_URL; the daphne processes and media workers must all reach it",
        )
    return Check("channel layer", note="Redis answers a round trip")


def media_workers():
    if settings.PLENUM_MEDIA != "worker":
        return Check("media workers", note="the SFU runs inside the daphne process (PLENUM_MEDIA=inprocess)")
    if not settings.REDIS_URL:
        return Check("media workers", "no Redis to hear them through", "set REDIS_URL (see above)")
    problem = asyncio.run(health.media_workers())
    if problem:
        indexes = " ".join(str(index) for index in range(settings.PLENUM_MEDIA_WORKERS))
        return Check(
            "media workers", problem,
            f"start `python manage.py plenum_media_worker --index N` once for each N in {indexes} "
            "(the same PLENUM_MEDIA_WORKERS everywhere), and look at their logs",
        )
    return Check("media workers", note=f"all {settings.PLENUM_MEDIA_WORKERS} report their load")


def ice_servers():
    if not settings.PLENUM_ICE_SERVERS:
        return Check(
            "ICE servers", "no STUN or TURN server is set: audio and video work on a LAN only",
            "set PLENUM_STUN_URLS, and for participants behind strict firewalls PLENUM_TURN_URLS with "
            "PLENUM_TURN_USERNAME and PLENUM_TURN_PASSWORD (docs/media.md)",
        )
    turn = [server for server in settings.PLENUM_ICE_SERVERS if server.get("username") is not None]
    if turn and not all(server.get("username") and server.get("credential") for server in turn):
        return Check(
            "ICE servers", "a TURN server is set without a user name or password",
            "set PLENUM_TURN_USERNAME and PLENUM_TURN_PASSWORD",
        )
    return Check("ICE servers", note=f"{len(settings.PLENUM_ICE_SERVERS)} set")


# Deployment warnings that are a site's own decision, not a fault: reported, not failed.
ACCEPTED = {
    "security.W005": "HSTS for every subdomain is the domain owner's call",
    "security.W021": "HSTS preloading commits the domain to browsers' lists for good",
}


def first_sentence(text):
    """ "You have not set X. Be sure to ..." -> "You have not set X." (dots inside names stay)."""
    return re.match(r"(.*?[.])(?:\s|$)", text + " ", re.DOTALL).group(1)


def deploy_checks():
    found = [
        message for message in checks.run_checks(include_deployment_checks=True)
        if message.level >= checks.WARNING and not message.is_silenced() and message.id not in ACCEPTED
    ]
    if found:
        lines = [f"{message.id}: {first_sentence(message.msg)}" for message in found]
        return Check(
            "check --deploy", "\n       ".join(["Django's deployment checks warn:", *lines]),
            "set what each message names (docs/operations.md, \"Environment\"; PLENUM_HTTPS=1 behind "
            "TLS), then run `python manage.py check --deploy` again",
        )
    return Check("check --deploy", note="clean, apart from " + "; ".join(f"{key} ({why})" for key, why in sorted(ACCEPTED.items())))


CHECKS = (database, channel_layer, media_workers, ice_servers, deploy_checks)


class Command(BaseCommand):
    help = "Check this deployment: database migrated, Redis round trip, media workers alive, ICE servers, check --deploy."

    requires_system_checks = []
    requires_migrations_checks = False

    def handle(self, *args, **options):
        failed = 0
        for run in CHECKS:
            check = run()
            if check.problem:
                failed += 1
                self.stdout.write(f"FAIL {check.name}: {check.problem}\n     fix: {check.fix}\n")
            else:
                self.stdout.write(f"ok   {check.name}: {check.note}\n")
        if failed:
            raise CommandError(f"{failed} of {len(CHECKS)} checks failed", returncode=1)
        self.stdout.write("All checks passed.\n")
