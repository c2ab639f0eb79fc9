"""Chaos: a loopback proxy drops every connection at random while turns of mixed events, tool calls and streaming
run; `openhands-tui watch ID --json`, run as a subprocess through the proxy, must print exactly the server's
REST history (compared as a multiset of event ids: none missing, none twice).

On a 1.58 server the watcher follows the session socket (resume by `seq`); the proxy also closes it the way a
server closes a slow consumer (1013 `slow_consumer`, at a frame boundary). On a 1.43 server it follows the
events socket with REST reconciliation.

The benchmarks `python -m bench --only chaos` (and `chaos_session`) run the long version (1,000 drops) and
report the counts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import struct
import sys
import time

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import following, new_conversation
from tests.proxy import DroppingProxy
from tui.client import AgentClient
from tui.demo import DemoServer

SLOW_CONSUMER_CLOSE = bytes([0x88, 15]) + struct.pack("!H", 1013) + b"slow_consumer"


class _Frames:
    """Where WebSocket frames end in a server-to-client byte stream (server frames are never masked)."""

    def __init__(self) -> None:
        self.head = bytearray()  # the HTTP response until the blank line
        self.websocket: bool | None = None  # None: headers not complete yet
        self.header = bytearray()  # a frame header being read
        self.left = 0  # payload bytes of the current frame still to come

    def boundaries(self, data: bytes) -> list[int]:
        """Offsets in `data` (0 included) after which a whole number of frames has gone by."""
        out: list[int] = []
        i = 0
        if self.websocket is None:
            self.head.extend(data)
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return out
            self.websocket = self.head.startswith(b"HTTP/1.1 101")
            i = len(data) - (len(self.head) - end - 4)
        if not self.websocket:
            return out
        if self.left == 0 and not self.header:
            out.append(i)
        while i < len(data):
            if self.left:
                take = min(self.left, len(data) - i)
                i += take
                self.left -= take
            else:
                self.header.append(data[i])
                i += 1
                size = self._payload_size()
                if size is None:
                    continue
                self.header.clear()
                self.left = size
            if self.left == 0 and not self.header:
                out.append(i)
        return out

    def _payload_size(self) -> int | None:
        h = self.header
        if len(h) < 2:
            return None
        n = h[1] & 0x7F
        need = 2 + (2 if n == 126 else 8 if n == 127 else 0) + (4 if h[1] & 0x80 else 0)
        if len(h) < need:
            return None
        if n == 126:
            return int(struct.unpack("!H", bytes(h[2:4]))[0])
        if n == 127:
            return int(struct.unpack("!Q", bytes(h[2:10]))[0])
        return n


class SocketChaosProxy(DroppingProxy):
    """A `DroppingProxy` that can also close the WebSocket connections as a server closes a slow consumer: the
    frames already in flight, then a close frame 1013 `slow_consumer` (never in the middle of a frame)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self._frames: dict[object, _Frames] = {}
        self._closing: set[object] = set()
        self.slow_closes = 0
        self.slow_consumer = True  # False: only drops, like a DroppingProxy
        self.socket_seen = asyncio.Event()  # a WebSocket went through (the watcher is following)
        self._slow_next = False

    def close_slow(self) -> None:
        """Close every open WebSocket as a slow consumer; with none open (reconnecting), the next one."""
        sockets = {pair for pair in self._pairs if (f := self._frames.get(pair)) and f.websocket}
        self._closing.update(sockets)
        self._slow_next = not sockets

    def _server_bytes(self, data: bytes, pair) -> bool:
        frames = self._frames.setdefault(pair, _Frames())
        ends = frames.boundaries(data)
        if frames.websocket:
            self.socket_seen.set()
            if self._slow_next:
                self._slow_next = False
                self._closing.add(pair)
        if pair not in self._closing or not ends:
            return True
        self._closing.discard(pair)
        client, upstream = pair
        client.write(data[: ends[-1]] + SLOW_CONSUMER_CLOSE)
        client.close()  # FIN after the close frame: the client reads it, then the end
        upstream.transport.abort()
        self._pairs.discard(pair)
        self.slow_closes += 1
        return False

    async def chaos(self, stop: asyncio.Event, low: float = 0.2, high: float = 2.0, seed: int = 7) -> None:
        """Drop every connection, or close the sockets as slow consumers, at random intervals until `stop`."""
        rng = random.Random(seed)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(low, high))
            if stop.is_set():
                break
            if self.slow_consumer and rng.random() < 0.5:
                self.close_slow()
            else:
                self.drop_all()


# A mix of everything the protocol carries: plain messages, tool calls and observations, streamed replies,
# per-field state updates, a markdown answer with a code block, a burst of events.
TURNS = [
    "[text] one",
    "[bash] two",
    "[slow] three",
    "markdown four",
    "[slowbash] five",
    "flood 150 six",
    "[finish] seven",
    "[slow] eight",
]


async def _read_lines(stream: asyncio.StreamReader, sink: list[str]) -> None:
    while line := await stream.readline():
        sink.append(line.decode("utf-8", "replace"))


async def run_chaos(
    turns: list[str],
    *,
    low: float = 0.2,
    high: float = 2.0,
    seed: int = 7,
    settle_timeout: float = 60.0,
    protocol: str | None = None,
    slow_consumer: bool = False,
) -> dict:
    """Run the scenario; returns the counts (used by the test and by the benchmark). `protocol`: the demo
    server's ("1.58": the session socket; "1.43": the events socket; None: the demo's default). `slow_consumer`:
    half of the cuts are slow-consumer closes of the sockets instead of TCP drops."""
    knobs: dict = dict(FAST_KNOBS, slow_seconds=1.0, token_rate=60.0)
    if protocol is not None:
        knobs["protocol"] = protocol
    with DemoServer(**knobs) as server:
        async with AgentClient(server.base_url) as client:
            cid = await new_conversation(client)
            proxy = await SocketChaosProxy("127.0.0.1", server.port).start()
            proxy.slow_consumer = slow_consumer
            env = dict(os.environ, PYTHONUNBUFFERED="1", OPENHANDS_TUI_SERVERS="", OPENHANDS_TUI_SESSION_KEY="")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tui",
                "watch",
                cid,
                "--json",
                "--server",
                proxy.base_url,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            out: list[str] = []
            err: list[str] = []
            readers = [
                asyncio.create_task(_read_lines(proc.stdout, out)),
                asyncio.create_task(_read_lines(proc.stderr, err)),
            ]
            stop = asyncio.Event()
            chaos = None
            try:
                # The driver talks to the server directly; only the watcher goes through the proxy.
                async with following(client, cid) as session:
                    # Cuts start once the watcher follows (its start-up lookup is not what is tested here).
                    await asyncio.wait_for(proxy.socket_seen.wait(), 30)
                    chaos = asyncio.create_task(proxy.chaos(stop, low, high, seed))
                    for text in turns:
                        item = await session.submit(text)
                        assert await session.wait_until(lambda: item.id in session.settled, 60), text
                stop.set()
                await chaos
                history = [e.id for e in await client.all_events(cid)]
                want = collections.Counter(history)
                deadline = time.monotonic() + settle_timeout

                def seen() -> collections.Counter:
                    return collections.Counter(json.loads(line)["id"] for line in list(out) if line.strip())

                while time.monotonic() < deadline and not (set(want) <= set(seen())):
                    assert proc.returncode is None, "".join(err)
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)  # anything printed twice late would show up now
                got = seen()
            finally:
                stop.set()
                if chaos is not None:
                    chaos.cancel()
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(proc.wait(), 10)
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                for r in readers:
                    r.cancel()
                await proxy.stop()
    missing = want - got
    twice = {i: n for i, n in got.items() if n > 1}
    extra = set(got) - set(want)
    return {
        "events": len(history),
        "printed": sum(got.values()),
        "missing": sorted(missing),
        "twice": twice,
        "extra": sorted(extra),
        "drops": proxy.drops,
        "slow_closes": getattr(proxy, "slow_closes", 0),
        "stderr": "".join(err)[-2000:],
    }


@pytest.mark.timeout(90)
async def test_watch_through_dropping_proxy_prints_history_exactly_once():
    t0 = time.monotonic()
    result = await run_chaos(TURNS)
    assert result["drops"] >= 3, result  # the proxy really cut the link several times
    assert not result["missing"], result
    assert not result["twice"], result
    assert not result["extra"], result
    assert result["printed"] == result["events"] > 50, result
    assert time.monotonic() - t0 < 80


@pytest.mark.timeout(90)
async def test_watch_on_the_session_socket_survives_drops_and_slow_consumer_closes():
    result = await run_chaos(TURNS[:5], protocol="1.58", slow_consumer=True, low=0.2, high=1.0, seed=11)
    assert result["drops"] >= 2 and result["slow_closes"] >= 2, result
    assert not result["missing"], result
    assert not result["twice"], result
    assert not result["extra"], result
    assert result["printed"] == result["events"] > 30, result


@pytest.mark.timeout(90)
async def test_watch_on_the_events_socket_of_an_older_server_prints_history_exactly_once():
    result = await run_chaos(TURNS[:5], protocol="1.43", low=0.2, high=1.0, seed=5)
    assert result["drops"] >= 3, result
    assert not result["missing"] and not result["twice"] and not result["extra"], result
    assert result["printed"] == result["events"] > 30, result


def test_frame_boundaries_are_found_across_chunks():
    frames = _Frames()
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    small = bytes([0x81, 3]) + b"abc"
    big = bytes([0x81, 126]) + struct.pack("!H", 300) + b"x" * 300
    stream = head + small + big + small
    cut = len(head) + len(small) + 100  # inside the big frame
    first, second = frames.boundaries(stream[:cut]), frames.boundaries(stream[cut:])
    assert first == [len(head), len(head) + len(small)]
    assert second == [len(big) - 100, len(stream) - cut]
