"""A crowd of participant sockets in a client process that notes when each socket first sees a marker.

Used by the plenary and afternoon benchmarks: the coordinator says which byte strings to watch
for (a question's text, a reaction burst, the forum page), then asks, per marker, when each
socket first saw it. The sockets are bench.broadcast's Sans-I/O ParticipantSocket, so a frame is
looked at when it reaches the process, with no task per socket. A socket can also send commands
(questions, votes, reactions) on the coordinator's word.
"""

import asyncio
import json
import time

from bench.broadcast import Clients, ParticipantSocket, answer_commands, classify, cpu_now, raise_open_file_limit, ws_url


class Crowd:
    def __init__(self, targets):
        self.targets = targets  # [(port, token)]
        self.sockets = [None] * len(targets)
        self.markers = []
        self.seen = [dict() for _ in targets]
        self.failures = {}
        self.next_id = 0

    async def connect(self, deadline):
        started = time.monotonic()
        times = []

        async def one(index, port, token):
            loop = asyncio.get_running_loop()

            def on_text(text, at):
                seen = self.seen[index]  # replaced by each watch()
                for marker in self.markers:
                    if marker not in seen and marker in text:
                        seen[marker] = at

            begun = time.monotonic()
            try:
                _transport, socket = await loop.create_connection(
                    lambda: ParticipantSocket(ws_url(port, token), f"http://127.0.0.1:{port}", on_text),
                    "127.0.0.1", port,
                )
                await socket.opened
            except Exception as error:  # counted by kind, like the broadcast benchmark
                reason = classify(error)
                self.failures[reason] = self.failures.get(reason, 0) + 1
                return
            self.sockets[index] = socket
            times.append(time.monotonic() - begun)

        tasks = [asyncio.ensure_future(one(i, *t)) for i, t in enumerate(self.targets)]
        _done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
        return {"connected": len(times), "times": times, "failures": self.failures,
                "wall": time.monotonic() - started}

    def watch(self, markers):
        self.markers = [m.encode() if isinstance(m, str) else m for m in markers]
        self.seen = [dict() for _ in self.targets]

    async def collect(self, marker, deadline):
        marker = marker.encode() if isinstance(marker, str) else marker
        connected = [i for i, s in enumerate(self.sockets) if s is not None]
        while time.monotonic() < deadline and any(marker not in self.seen[i] for i in connected):
            await asyncio.sleep(0.01)
        return {"arrivals": [self.seen[i].get(marker) for i in connected], "cpu": cpu_now()}

    def send(self, index, message_type, fields):
        """Send one command from socket `index` (of this process); returns the send time."""
        socket = self.sockets[index]
        if socket is None:
            return None
        self.next_id += 1
        socket.send_text(json.dumps({"type": message_type, "id": self.next_id, **fields}).encode())
        return time.monotonic()

    async def close(self):
        for socket in self.sockets:
            if socket is not None:
                socket.close()
        await asyncio.sleep(0.5)


def _main(pipe, targets):
    raise_open_file_limit()
    asyncio.run(_serve(pipe, targets))


async def _serve(pipe, targets):
    crowd = Crowd(targets)

    async def watch(*markers):
        crowd.watch(*markers)
        return True

    async def send(plan):
        # [(index, type, fields, delay_seconds)]: sent on schedule from now; returns send times.
        start = time.monotonic()
        times = []
        for index, message_type, fields, delay in sorted(plan, key=lambda p: p[3]):
            wait = start + delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            times.append((index, message_type, fields, crowd.send(index, message_type, fields)))
        return times

    handlers = {"connect": crowd.connect, "watch": watch, "collect": crowd.collect, "send": send}
    await answer_commands(pipe, handlers, crowd.close)


class Crowds(Clients):
    """The coordinator's handle: the targets split over `processes` crowd processes."""

    def __init__(self, targets, processes=1):
        super().__init__(targets, processes, target=_main)
