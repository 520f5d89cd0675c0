"""The afternoon's move (issue 5): N participants go from the plenary into six forums and back.

One daphne with the embedded defaults serves the demo conference and N participants, already
spread over the six forums (as "assign the rest" would). The moderator starts the forum item;
each participant's client notes when its page's forum arrives (the `place-forum` frame). Then
the moderator ends the forums with "Weiter" and each notes when the plenary is back. Several
runs, each on a fresh database; medians are printed.

    .venv/bin/python bench/afternoon.py                    # 600 participants, 3 runs
    .venv/bin/python bench/afternoon.py --size 120 --runs 1
"""

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.broadcast import Meter, moderator_socket, peak_rss_mib, percentile  # noqa: E402
from bench.crowd import Crowds  # noqa: E402
from tests.support.servers import Daphne, manage, prepare_demo, server_env  # noqa: E402

SETUP = """
from agenda.models import AgendaItem, Phase
from rooms.models import ForumAssignment, Room, RoomKind
from frontend import demo
from venue.models import Person, Role
conference = demo.create()
forums = list(Room.objects.filter(conference=conference, kind=RoomKind.FORUM).order_by("order"))
Room.objects.filter(pk__in=[f.pk for f in forums]).update(capacity=None)
people = Person.objects.bulk_create(
    [Person(conference=conference, display_name=f"Lastprobe {i:05d}") for i in range({count})], batch_size=500)
ForumAssignment.objects.bulk_create(
    [ForumAssignment(person=p, room=forums[i % len(forums)]) for i, p in enumerate(people)], batch_size=500)
print("moderator", conference.people.filter(role=Role.MODERATOR).first().token)
print("item", AgendaItem.objects.get(conference=conference, phase=Phase.FORUMS).pk)
for person in people:
    print("participant", person.token)
"""


async def command(socket, message_id, message_type, **fields):
    sent = time.monotonic()
    await socket.send(json.dumps({"type": message_type, "id": message_id, **fields}))
    while True:
        frame = await asyncio.wait_for(socket.recv(), 30)
        if frame.startswith("{") and json.loads(frame).get("id") == message_id:
            reply = json.loads(frame)
            if reply["type"] != "ack":
                raise RuntimeError(f"{message_type} refused: {reply}")
            return sent


def figures(arrivals, sent):
    latencies = [a - sent for a in arrivals if a is not None]
    return {
        "received": len(latencies), "lost": sum(1 for a in arrivals if a is None),
        "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
    }


async def drive(daphne, moderator, item, participants, args):
    meter = Meter([daphne], {})
    crowds = Crowds([(daphne.port, token) for token in participants], args.client_processes)
    result = {}
    try:
        await crowds.ask("ready")
        joined = await crowds.ask("connect", 30.0)
        result["connected"] = sum(j["connected"] for j in joined)
        await meter.quiet(limit=15)
        socket, _attempts = await moderator_socket(daphne.port, moderator)
        await asyncio.sleep(1.5)
        await meter.quiet(limit=5)
        for name, marker, message_type, fields in (
            ("into the forums", 'class="place place-forum"', "agenda.start", {"item": item}),
            ("back to the plenary", 'class="place place-plenary"', "agenda.next", {}),
        ):
            await crowds.ask("watch", [marker])
            before = meter.read()
            sent = await command(socket, len(result) + 1, message_type, **fields)
            replies = await crowds.ask("collect", marker, sent + args.deadline)
            after = meter.read()
            result[name] = figures([a for r in replies for a in r["arrivals"]], sent)
            cpu = Meter.between(before, after)
            result[name]["server_cpu"] = sum(cpu["daphne"])
            result[name]["machine_cpu"] = cpu["machine"]
            await meter.quiet(limit=10)
        await socket.close()
        await crowds.ask("close")
    finally:
        crowds.stop()
    result["peak_rss_mib"] = peak_rss_mib(daphne.process.pid)
    return result


def run_once(args):
    var_dir = Path(tempfile.mkdtemp(prefix="bench-afternoon-"))
    env = server_env(var_dir, LOG_LEVEL="WARNING")
    try:
        prepare_demo(env, "http://127.0.0.1")
        out = manage(env, "shell", "-c", SETUP.replace("{count}", str(args.size)))
        lines = [line.split(" ", 1) for line in out.splitlines() if " " in line]
        moderator = next(v for k, v in lines if k == "moderator")
        item = int(next(v for k, v in lines if k == "item"))
        participants = [v for k, v in lines if k == "participant"]
        with Daphne(env) as daphne:
            result = asyncio.run(drive(daphne, moderator, item, participants, args))
            result["tracebacks"] = daphne.log_text().count("Traceback")
        return result
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def ms(value):
    return f"{value * 1000:7.0f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deadline", type=float, default=15.0, help="seconds a move may take before a socket counts as lost")
    parser.add_argument("--client-processes", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"afternoon: {args.size} participants in six forums, one daphne (SQLite, in-memory layer), {args.runs} runs")
    runs = []
    for number in range(1, args.runs + 1):
        result = run_once(args)
        runs.append(result)
        print(f"run {number}: {result['connected']} connected, peak RSS {result['peak_rss_mib']:.0f} MiB, "
              f"{result['tracebacks']} tracebacks in the server log")
        for name in ("into the forums", "back to the plenary"):
            f = result[name]
            print(f"  {name:20s} received {f['received']:4d} lost {f['lost']:3d}  p50 {ms(f['p50'])}  p99 {ms(f['p99'])}"
                  f"  max {ms(f['max'])}  server CPU {f['server_cpu']:.2f} s, machine {f['machine_cpu']:.2f} s")
    print("medians over runs:")
    for name in ("into the forums", "back to the plenary"):
        p50 = statistics.median(r[name]["p50"] for r in runs)
        p99 = statistics.median(r[name]["p99"] for r in runs)
        worst = statistics.median(r[name]["max"] for r in runs)
        lost = sum(r[name]["lost"] for r in runs)
        print(f"  {name:20s} p50 {ms(p50)}  p99 {ms(p99)}  max {ms(worst)}  lost in all runs: {lost}")


if __name__ == "__main__":
    main()
