"""Media benchmark: one publisher (640×360, 30 fps VP8) and N subscribers through the SFU.

Two modes run side by side in one invocation:

* ``forward``: Plenum's path (rooms.media.forwarding): encoded frames from the publisher's
  receiver go to each subscriber's sender as av.Packet, never decoded or re-encoded;
* ``relay``: aiortc's stock path, the receiver decodes and every subscriber's sender
  re-encodes the frames handed out by ``aiortc.contrib.media.MediaRelay``.

The server, the publisher and the subscribers are separate processes on 127.0.0.1. The
subscribers do not decode: they count RTP packets and marker bits (one per video frame),
so that the CPU goes to the server. Printed per N: the server's CPU seconds per second, the
frames per second each subscriber receives (mean and worst), and the packet loss.

    .venv/bin/python bench/media.py                       # N = 1 10 25 50 100, both modes
    .venv/bin/python bench/media.py --counts 1 10 --window 5
    .venv/bin/python bench/media.py --loop-latency        # agenda broadcast latency vs. 20 streams
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FULL_RATE = 30
# "Full frame rate": what a viewer would not tell from the publisher's own 30 fps.
FULL_RATE_SHARE = 0.95


def _local_only():
    from aiortc import RTCConfiguration
    from aiortc.rtcconfiguration import RTCBundlePolicy

    # No ICE servers: aiortc would otherwise ask a public STUN server.
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def _request(port, message):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(json.dumps(message).encode() + b"\n")
    await writer.drain()
    reply = json.loads(await reader.readline())
    writer.close()
    return reply


# -- the server ----------------------------------------------------------------------------


def server_main(mode, port, ready):
    asyncio.run(_serve(mode, port, ready))


async def _serve(mode, port, ready):
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    from rooms.media.forwarding import ForwardedTrack, Forwarder

    peers = []
    published = {}
    relay = MediaRelay()

    async def handle(reader, writer):
        message = json.loads(await reader.readline())
        reply = {}
        if message["op"] == "publish":
            pc = RTCPeerConnection(_local_only())
            peers.append(pc)

            @pc.on("track")
            def on_track(track):
                transceiver = next(t for t in pc.getTransceivers() if t.receiver.track is track)
                if mode == "forward":
                    published["forwarder"] = Forwarder(transceiver.receiver, track.kind, "video", owner=None)
                else:
                    # The stock path: the receiver decodes, MediaRelay hands frames to each sender.
                    published["track"] = track

            await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            reply = {"sdp": pc.localDescription.sdp}
        elif message["op"] == "subscribe":
            pc = RTCPeerConnection(_local_only())
            peers.append(pc)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
            if mode == "forward":
                track = ForwardedTrack("video")
                sender = pc.addTrack(track)
                track.bind(sender)
                track.switch(published["forwarder"])
            else:
                pc.addTrack(relay.subscribe(published["track"], buffered=False))
            await pc.setLocalDescription(await pc.createAnswer())
            reply = {"sdp": pc.localDescription.sdp}
        elif message["op"] == "cpu":
            reply = {"cpu": time.process_time(), "wall": time.monotonic(), "peers": len(peers),
                     "frames": published["forwarder"].frames if "forwarder" in published else None}
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    ready.set()
    async with server:
        await server.serve_forever()


# -- the publisher -------------------------------------------------------------------------


def publisher_main(port, ready):
    asyncio.run(_publish(port, ready))


async def _publish(port, ready):
    import av
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import VideoStreamTrack

    class Camera(VideoStreamTrack):
        """640×360 at 30 fps with a moving bar, so that frames differ as a camera's do."""

        def __init__(self):
            super().__init__()
            self.count = 0

        async def recv(self):
            pts, time_base = await self.next_timestamp()
            frame = av.VideoFrame(640, 360, "yuv420p")
            luma = frame.planes[0]
            row = bytearray([40]) * luma.line_size
            x = (self.count * 8) % 600
            row[x:x + 40] = b"\xe6" * 40
            luma.update(bytes(row) * luma.height)
            for chroma in frame.planes[1:]:
                chroma.update(bytes([128]) * chroma.buffer_size)
            self.count += 1
            frame.pts, frame.time_base = pts, time_base
            return frame

    pc = RTCPeerConnection(_local_only())
    pc.addTransceiver(Camera(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    reply = await _request(port, {"op": "publish", "sdp": pc.localDescription.sdp})
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
    ready.set()
    await asyncio.Event().wait()


# -- the subscribers -----------------------------------------------------------------------


class Counter:
    """Counts what arrives for one subscriber without decoding (nor even reassembling) it."""

    def __init__(self):
        self.frames = 0
        self.packets = 0
        self.first_seq = None
        self.highest = None

    async def handle(self, packet, arrival_time_ms):
        self.packets += 1
        self.frames += packet.marker
        seq = packet.sequence_number
        if self.first_seq is None:
            self.first_seq = self.highest = seq
            self.cycles = 0
        elif ((seq - self.highest) & 0xFFFF) < 0x8000 and seq != self.highest:
            if seq < self.highest:
                self.cycles += 1 << 16
            self.highest = seq

    def snapshot(self):
        expected = 0 if self.first_seq is None else self.cycles + self.highest - self.first_seq + 1
        return {"frames": self.frames, "packets": self.packets, "expected": expected}


def subscribers_main(port, count, conn):
    asyncio.run(_subscribe(port, count, conn))


async def _subscribe(port, count, conn):
    from aiortc import RTCPeerConnection, RTCSessionDescription

    counters, peers = [], []

    async def one():
        pc = RTCPeerConnection(_local_only())
        transceiver = pc.addTransceiver("video", direction="recvonly")
        counter = Counter()
        # The receiver's own path parses, reassembles and decodes; counting needs none of it.
        transceiver.receiver._handle_rtp_packet = counter.handle
        await pc.setLocalDescription(await pc.createOffer())
        reply = await _request(port, {"op": "subscribe", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        counters.append(counter)
        peers.append(pc)

    for start in range(0, count, 10):
        await asyncio.gather(*(one() for _ in range(min(10, count - start))))
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        conn.send([c.snapshot() for c in counters])
    for pc in peers:
        await pc.close()


# -- one measurement -----------------------------------------------------------------------


def measure(mode, count, window, workers):
    from tests.support.servers import free_port

    context = multiprocessing.get_context("spawn")
    port = free_port()
    ready = context.Event()
    server = context.Process(target=server_main, args=(mode, port, ready), daemon=True)
    server.start()
    ready.wait(30)
    published = context.Event()
    publisher = context.Process(target=publisher_main, args=(port, published), daemon=True)
    publisher.start()
    published.wait(30)
    time.sleep(1.0)

    pipes, processes = [], []
    split = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    for share in (s for s in split if s):
        parent, child = context.Pipe()
        process = context.Process(target=subscribers_main, args=(port, share, child), daemon=True)
        process.start()
        pipes.append(parent)
        processes.append(process)

    def snapshot():
        rows = []
        for pipe in pipes:
            pipe.send("snapshot")
            rows.extend(pipe.recv())
        return rows

    # Wait until every subscriber receives, then let things settle.
    deadline = time.monotonic() + 30 + count * 0.3
    while time.monotonic() < deadline:
        rows = snapshot()
        if len(rows) == count and all(r["frames"] > 0 for r in rows):
            break
        time.sleep(0.5)
    time.sleep(2.0)

    cpu_start = asyncio.run(_request(port, {"op": "cpu"}))
    first = snapshot()
    time.sleep(window)
    last = snapshot()
    cpu_end = asyncio.run(_request(port, {"op": "cpu"}))

    for pipe in pipes:
        pipe.send("stop")
    for process in processes:
        process.join(10)
    for process in (publisher, server, *processes):
        if process.is_alive():
            process.terminate()
        process.join(5)

    seconds = cpu_end["wall"] - cpu_start["wall"]
    fps = [(b["frames"] - a["frames"]) / seconds for a, b in zip(first, last)] or [0.0]
    fps += [0.0] * (count - len(fps))  # a subscriber that never connected received nothing
    expected = sum(b["expected"] - a["expected"] for a, b in zip(first, last))
    received = sum(b["packets"] - a["packets"] for a, b in zip(first, last))
    return {
        "mode": mode,
        "subscribers": count,
        "cpu_per_second": (cpu_end["cpu"] - cpu_start["cpu"]) / seconds,
        "fps_mean": statistics.mean(fps),
        "fps_min": min(fps),
        "loss": max(0.0, 1 - received / expected) if expected else 1.0,
    }


def full_rate(row):
    return row["fps_min"] >= FULL_RATE * FULL_RATE_SHARE and row["loss"] < 0.01


def run_forwarding(counts, window, workers, relay_limit):
    rows = []
    print(f"{'mode':8} {'N':>4} {'server CPU s/s':>15} {'fps mean':>9} {'fps min':>8} {'loss':>7}  full rate")
    for mode in ("forward", "relay"):
        for count in counts:
            row = measure(mode, count, window, min(workers, count))
            rows.append(row)
            print(f"{mode:8} {count:>4} {row['cpu_per_second']:>15.3f} {row['fps_mean']:>9.1f} "
                  f"{row['fps_min']:>8.1f} {row['loss']:>6.1%}  {'yes' if full_rate(row) else 'no'}", flush=True)
            if mode == "relay" and (not full_rate(row) or count >= relay_limit):
                # Past its capacity the stock path only burns the machine; the next N tells nothing new.
                break
    print()
    capacity = {}
    for mode in ("forward", "relay"):
        served = [r for r in rows if r["mode"] == mode and full_rate(r)]
        if served:
            best = max(served, key=lambda r: r["subscribers"])
            capacity[mode] = best["subscribers"] / max(best["cpu_per_second"], 1e-6)
            print(f"{mode}: {best['subscribers']} subscribers at full frame rate on "
                  f"{best['cpu_per_second']:.2f} server cores -> {capacity[mode]:.0f} subscribers per core")
        else:
            print(f"{mode}: no N at full frame rate")
    if len(capacity) == 2:
        print(f"ratio forward/relay: {capacity['forward'] / capacity['relay']:.1f}x")
    return rows


# -- agenda broadcast latency with and without media ------------------------------------------


def run_loop_latency(streams, blocks):
    """Agenda broadcasts measured at a console socket, first idle, then while the daphne
    process forwards `streams` video streams (one publisher, `streams` subscribers).

    The demo day has nine items, so each block resets it and steps through them all."""
    import tempfile

    import django

    # The measuring clients reuse the tests' synthetic camera, which lives next to Django models.
    django.setup()
    from tests.support.servers import Daphne, manage, prepare_demo, server_env

    var = Path(tempfile.mkdtemp(prefix="plenum-bench-media-"))
    env = server_env(var)
    server = Daphne(env)
    prepare_demo(env, server.base_url)

    def fresh_day():
        out = manage(env, "plenum_demo", "--reset", "--base-url", server.base_url)
        tokens = {}
        for line in out.splitlines():
            for label in ("moderator console", "organizer view"):
                if line.strip().startswith(label):
                    tokens[label.split()[0]] = line.split()[-1].rstrip("/").split("/")[-1]
        return tokens

    with server:
        idle = asyncio.run(_latency(server, fresh_day, 0, blocks))
        busy = asyncio.run(_latency(server, fresh_day, streams, blocks))
    for label, values in (("idle", idle), (f"{streams} streams", busy)):
        print(f"agenda broadcast latency, {label:>10}: median {statistics.median(values) * 1000:6.1f} ms, "
              f"p90 {sorted(values)[int(len(values) * 0.9)] * 1000:6.1f} ms ({len(values)} broadcasts)")
    change = statistics.median(busy) / statistics.median(idle) - 1
    print(f"median change under media load: {change:+.0%} (limit +20%)")
    return idle, busy, change


async def _latency(server, fresh_day, streams, blocks):
    import websockets
    from aiortc import RTCPeerConnection, RTCSessionDescription

    from tests.support.media import MovingPicture, sdp_chunks

    loop = asyncio.get_running_loop()
    base = f"ws://127.0.0.1:{server.port}/ws/venue/?lang=de&token="
    counter = {"id": 0}

    async def call(socket, message_type, **fields):
        counter["id"] += 1
        await socket.send(json.dumps({"type": message_type, "id": counter["id"], **fields}))
        while True:
            frame = await socket.recv()
            if frame.startswith("{") and json.loads(frame).get("id") == counter["id"]:
                return json.loads(frame)

    peers, sockets, counters = [], [], []
    if streams:
        # Console roles may be in any room at any time: the organizer publishes, and
        # `streams` sockets of the moderator subscribe (one's own tracks are not forwarded).
        tokens = await loop.run_in_executor(None, fresh_day)
        token = tokens["moderator"]
        publisher_socket = await websockets.connect(base + tokens["organizer"], origin=server.base_url)
        sockets.append(publisher_socket)
        await call(publisher_socket, "media.join", room="plenum")
        pc = RTCPeerConnection(_local_only())
        pc.addTransceiver(MovingPicture(), direction="sendonly")
        peers.append(pc)
        await pc.setLocalDescription(await pc.createOffer())
        parts = sdp_chunks(pc.localDescription.sdp)
        for index, part in enumerate(parts):
            reply = await call(publisher_socket, "media.publish", sdp=part, more=index < len(parts) - 1)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"], type="answer"))
        for _ in range(streams):
            sockets.append(await _subscriber(base + token, server.base_url, call, peers, counters))
        await asyncio.sleep(3)
        before = sum(c.frames for c in counters)

    latencies = []
    started = time.monotonic()
    for _ in range(blocks):
        token = (await loop.run_in_executor(None, fresh_day))["moderator"]
        moderator = await websockets.connect(base + token, origin=server.base_url)
        watcher = await websockets.connect(base + token, origin=server.base_url)
        await asyncio.sleep(0.5)
        while True:
            counter["id"] += 1
            began = time.perf_counter()
            await moderator.send(json.dumps({"type": "agenda.next", "id": counter["id"]}))
            reply = None
            while reply is None:
                frame = await asyncio.wait_for(moderator.recv(), 20)
                if frame.startswith("{") and json.loads(frame).get("id") == counter["id"]:
                    reply = json.loads(frame)
            if reply["type"] != "ack":
                break
            while True:
                frame = await asyncio.wait_for(watcher.recv(), 20)
                if not frame.startswith("{") and 'id="now-playing"' in frame:
                    break
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(0.1)
        await moderator.close()
        await watcher.close()
    if streams:
        rate = (sum(c.frames for c in counters) - before) / (time.monotonic() - started) / streams
        print(f"while measuring, each of {streams} subscribers received {rate:.1f} frames/s")
    for socket in sockets:
        await socket.close()
    for pc in peers:
        await pc.close()
    return latencies


async def _subscriber(url, origin, call, peers, counters):
    import websockets
    from aiortc import RTCPeerConnection, RTCSessionDescription

    socket = await websockets.connect(url, origin=origin)
    pc = RTCPeerConnection(_local_only())
    counter = Counter()
    counters.append(counter)
    peers.append(pc)
    # The offer may come before the join's ack: the SFU offers as part of joining.
    await socket.send(json.dumps({"type": "media.join", "id": "join", "room": "plenum"}))
    offer = None
    while offer is None:
        message = await asyncio.wait_for(socket.recv(), 20)
        if message.startswith("{") and json.loads(message).get("type") == "media.offer":
            offer = json.loads(message)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
    for transceiver in pc.getTransceivers():
        transceiver.receiver._handle_rtp_packet = counter.handle
    await pc.setLocalDescription(await pc.createAnswer())
    from tests.support.media import sdp_chunks

    parts = sdp_chunks(pc.localDescription.sdp)
    for index, part in enumerate(parts):
        await call(socket, "media.answer", sdp=part, more=index < len(parts) - 1)
    return socket


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 25, 50, 100])
    parser.add_argument("--window", type=float, default=5.0, help="seconds measured per N")
    parser.add_argument("--workers", type=int, default=4, help="subscriber processes")
    parser.add_argument("--relay-limit", type=int, default=100, help="largest N tried for the stock relay")
    parser.add_argument("--loop-latency", action="store_true")
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=4, help="agenda days stepped through per series")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "venue.settings")
    print(f"machine: {os.cpu_count()} cores")
    if args.loop_latency:
        run_loop_latency(args.streams, args.blocks)
    else:
        run_forwarding(args.counts, args.window, args.workers, args.relay_limit)


if __name__ == "__main__":
    main()
