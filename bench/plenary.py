"""The morning under load (issue 4): N participants in the plenary; questions, votes and applause.

One daphne with the embedded defaults. Over a minute, 50 participants each ask a question and
vote for others' questions, 200 send reactions, and the moderator advances the agenda twice.
Each client notes when every question first appears on its page; that gives the latency from
asking to everyone seeing it. Then, in quiet, reaction probes measure the time from one
reaction to the next aggregate ("burst") on every page. The server's own CPU is reported apart
from the machine's.

    .venv/bin/python bench/plenary.py                  # 1,000 participants
    .venv/bin/python bench/plenary.py --size 200 --seconds 20
"""

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.afternoon import command  # noqa: E402
from bench.broadcast import Meter, create_people, moderator_socket, peak_rss_mib, percentile  # noqa: E402
from bench.crowd import Crowds  # noqa: E402
from tests.support.servers import Daphne, prepare_demo, server_env  # noqa: E402

ASKERS = 50
CLAPPERS = 200
VOTES_PER_ASKER = 10
REACTION_PROBES = 10


def question_text(number):
    return f"Lastfrage {number:03d}: Wie geht es weiter?"


def plan_minute(size, seconds, rng):
    """[(participant index, type, fields, delay)]: who does what when during the busy minute."""
    plan = []
    askers = rng.sample(range(size), min(ASKERS, size))
    for number, index in enumerate(askers, start=1):
        plan.append((index, "question.ask", {"text": question_text(number)}, seconds * (number - 0.5) / len(askers)))
        for _ in range(VOTES_PER_ASKER):
            # Question ids count up from 1 in a fresh database; a vote for one that is not
            # (yet, or no longer) votable is refused, which is load all the same.
            plan.append((index, "question.vote", {"question": rng.randint(1, len(askers))}, rng.uniform(0, seconds)))
    for index in rng.sample(range(size), min(CLAPPERS, size)):
        for _ in range(5):
            plan.append((index, "reaction", {"kind": rng.choice(["applause", "heart", "laugh", "thinking"])},
                         rng.uniform(0, seconds)))
    return plan, askers


async def drive(daphne, moderator, participants, args):
    meter = Meter([daphne], {})
    crowds = Crowds([(daphne.port, token) for token in participants], 1)
    rng = random.Random(7)
    result = {}
    try:
        await crowds.ask("ready")
        joined = await crowds.ask("connect", 40.0)
        result["connected"] = joined[0]["connected"]
        await meter.quiet(limit=20)
        socket, _attempts = await moderator_socket(daphne.port, moderator)
        await command(socket, 1, "agenda.next")
        await command(socket, 2, "agenda.next")  # the minister's talk: questions open
        await asyncio.sleep(1.5)
        await meter.quiet(limit=10)

        plan, askers = plan_minute(len(participants), args.seconds, rng)
        await crowds.ask("watch", [question_text(n) for n in range(1, len(askers) + 1)])

        async def moderator_advances():
            for number in (3, 4):
                await asyncio.sleep(args.seconds / 3)
                await command(socket, number, "agenda.next")

        before = meter.read()
        sent_times, _ = await asyncio.gather(crowds.ask_one(0, "send", plan), moderator_advances())
        asked = {fields["text"]: at for _i, kind, fields, at in sent_times if kind == "question.ask"}
        latencies, lost = [], 0
        for text, at in asked.items():
            reply = (await crowds.ask_one(0, "collect", text, at + 10))
            for arrival in reply["arrivals"]:
                if arrival is None:
                    lost += 1
                else:
                    latencies.append(arrival - at)
        after = meter.read()
        cpu = Meter.between(before, after)
        result["questions"] = {
            "asked": len(asked), "deliveries": len(latencies), "lost": lost,
            "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": max(latencies, default=float("nan")),
        }
        result["minute"] = {"wall": cpu["wall"], "server_cpu": sum(cpu["daphne"]), "machine_cpu": cpu["machine"],
                            "commands": len(plan)}

        await meter.quiet(limit=10)
        reaction_latencies, reaction_lost = [], 0
        for probe in range(REACTION_PROBES):
            await crowds.ask("watch", ['class="burst"'])
            sent = await crowds.ask_one(0, "send", [(rng.randrange(len(participants)), "reaction", {"kind": "applause"}, 0)])
            at = sent[0][3]
            reply = await crowds.ask_one(0, "collect", 'class="burst"', at + 10)
            for arrival in reply["arrivals"]:
                if arrival is None:
                    reaction_lost += 1
                else:
                    reaction_latencies.append(arrival - at)
            await asyncio.sleep(1.2)
        result["reactions"] = {
            "probes": REACTION_PROBES, "deliveries": len(reaction_latencies), "lost": reaction_lost,
            "p50": percentile(reaction_latencies, 0.5), "p99": percentile(reaction_latencies, 0.99),
            "max": max(reaction_latencies, default=float("nan")),
        }
        await socket.close()
        await crowds.ask("close")
    finally:
        crowds.stop()
    result["peak_rss_mib"] = peak_rss_mib(daphne.process.pid)
    return result


def ms(value):
    return f"{value * 1000:6.0f} ms"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the busy minute")
    args = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-plenary-"))
    env = server_env(var_dir, LOG_LEVEL="WARNING")
    try:
        prepare_demo(env, "http://127.0.0.1")
        moderator, participants = create_people(env, args.size)
        with Daphne(env) as daphne:
            result = asyncio.run(drive(daphne, moderator, participants, args))
            tracebacks = daphne.log_text().count("Traceback")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    q, r, m = result["questions"], result["reactions"], result["minute"]
    print(f"plenary: {result['connected']} of {args.size} participants connected to one daphne (SQLite, in-memory layer)")
    print(f"busy {m['wall']:.0f} s: {m['commands']} commands ({ASKERS} askers x (1 question + {VOTES_PER_ASKER} votes), "
          f"{CLAPPERS} x 5 reactions), 2 advances; server CPU {m['server_cpu']:.1f} s "
          f"({m['server_cpu'] / m['wall']:.2f} s/s), machine {m['machine_cpu']:.1f} s")
    print(f"question on every page: {q['deliveries']} deliveries of {q['asked']} questions, lost {q['lost']}; "
          f"p50 {ms(q['p50'])} p99 {ms(q['p99'])} max {ms(q['max'])}")
    print(f"reaction to the next burst on every page: {r['deliveries']} deliveries of {r['probes']} probes, lost {r['lost']}; "
          f"p50 {ms(r['p50'])} p99 {ms(r['p99'])} max {ms(r['max'])}")
    print(f"peak RSS {result['peak_rss_mib']:.0f} MiB, {tracebacks} tracebacks in the server log")


if __name__ == "__main__":
    main()
