"""Chaos: a loopback proxy drops every connection at random while turns of mixed events, tool calls and streaming
run; `openhands-tui watch ID --json`, run as a subprocess through the proxy, must print exactly the server's
REST history (compared as a multiset of event ids: none missing, none twice).

The benchmark `python -m bench chaos` runs the long version (1,000 drops) and reports the counts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
import time

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import following, new_conversation
from tests.proxy import DroppingProxy
from tui.client import AgentClient
from tui.demo import DemoServer

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
    turns: list[str], *, low: float = 0.2, high: float = 2.0, seed: int = 7, settle_timeout: float = 60.0
) -> dict:
    """Run the scenario; returns the counts (used by the test and by the benchmark)."""
    knobs = dict(FAST_KNOBS, slow_seconds=1.0, token_rate=60.0)
    with DemoServer(**knobs) as server:
        async with AgentClient(server.base_url) as client:
            cid = await new_conversation(client)
            proxy = await DroppingProxy("127.0.0.1", server.port).start()
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
