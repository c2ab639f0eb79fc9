"""Flood: the app with a conversation open while the server floods it with events as fast as it can.

    .venv/bin/python -m bench.flood [--events 60000] [--seconds 30] [--presses 60]

Measured in a fresh interpreter (the demo server is another process): the process's peak RSS during the flood
and the key-to-screen delay (a key moves the conversation list's cursor; the delay runs to the first frame that
shows it), p50/p95. The baseline is the same app and the same key presses in the same invocation with no flood
running. Targets: RSS under 300 MB, p95 under 100 ms while flooding. Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from bench.common import DemoProcess, percentile, rss_mb, run_child


async def flood_ui(url: str, events: int, seconds: float, presses: int, flood: bool) -> dict[str, Any]:
    import tempfile

    from bench.children import _app, _flood, _open, quiet_exit
    from bench.common import new_streaming_conversation

    cid = await new_streaming_conversation(url)
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open(app, pilot, cid)
            lst = app.fleet_list.options
            lst.focus()
            await pilot.pause(0.3)
            rss_before = rss_mb()
            state: dict[str, Any] = {"want": None, "t": 0.0}
            delays: list[float] = []
            original = app._display

            def display(screen: Any, renderable: Any) -> None:
                original(screen, renderable)
                if state["want"] is not None and lst.highlighted == state["want"]:
                    delays.append(time.perf_counter() - state["t"])
                    state["want"] = None

            app._display = display
            peak = rss_before
            session = app.session
            received_before = session.received
            log = app.view.log_widget
            behind_peak = 0
            said = 0  # samples in which the log said "catching up: N events behind"
            if flood:
                asyncio.create_task(_flood(url, cid, events))
            t0 = time.perf_counter()
            press_at: list[float] = []
            gap = seconds / presses
            for i in range(presses):
                key = "down" if (i // 5) % 2 == 0 else "up"
                before = lst.highlighted
                state["t"] = time.perf_counter()
                press_at.append(round(state["t"] - t0, 2) if i else 0.0)
                state["want"] = None if before is None else before + (1 if key == "down" else -1)
                app.simulate_key(key)
                await asyncio.sleep(gap)
                peak = max(peak, rss_mb())
                behind_peak = max(behind_peak, session.behind)
                said += log.catching_up > 0
            took = time.perf_counter() - t0
            received = session.received - received_before
            held, blocks = len(session.timeline), len(log.blocks)
            settled_at = time.perf_counter()
            while flood and session.received - received_before < events and time.perf_counter() - settled_at < 60:
                await asyncio.sleep(0.1)  # the rest of the flood, then the state clears
            await pilot.pause(0.3)
            at_end = log.catching_up
            await quiet_exit(app)
    return {
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak,
        "presses": presses,
        "seen": len(delays),
        "p50_ms": 1000 * percentile(delays, 0.5),
        "p95_ms": 1000 * percentile(delays, 0.95),
        "worst_ms": [round(1000 * d) for d in sorted(delays)[-5:]],
        "events_received": received,
        "session_held": held,
        "log_blocks": blocks,
        "behind_peak": behind_peak,
        "catching_up_shown": said,
        "catching_up_at_end": at_end,
        "seconds": took,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--presses", type=int, default=60)
    args = parser.parse_args()
    with DemoProcess("--demo-seed") as demo:
        common = {"url": demo.base_url, "events": args.events, "seconds": args.seconds, "presses": args.presses}
        quiet = run_child_flood(dict(common, flood=False))
        flooded = run_child_flood(dict(common, flood=True))
    rows = [
        (
            "peak RSS while flooding",
            f"{flooded['rss_peak_mb']:.0f} MB",
            f"idle {quiet['rss_peak_mb']:.0f} MB",
            "< 300 MB",
            flooded["rss_peak_mb"] < 300,
        ),
        (
            "key to screen p95 while flooding",
            f"{flooded['p95_ms']:.0f} ms (p50 {flooded['p50_ms']:.0f})",
            f"idle {quiet['p95_ms']:.0f} ms (x{flooded['p95_ms'] / quiet['p95_ms']:.1f})",
            "< 100 ms",
            flooded["p95_ms"] < 100,
        ),
    ]
    for name, value, base, target, met in rows:
        print(f"{name:36} {value:24} {base:28} {target:10} {'met' if met else 'MISSED'}")
    print(
        f"events received during the window: {flooded['events_received']} in {flooded['seconds']:.1f} s "
        f"(held at the end: {flooded['session_held']} in the session, {flooded['log_blocks']} blocks in the log; "
        f"most frames waiting: {flooded['behind_peak']}; 'catching up' shown in {flooded['catching_up_shown']} samples, "
        f"at the end: {flooded['catching_up_at_end']}); key presses seen {flooded['seen']}/{flooded['presses']}"
    )
    print(json.dumps({"quiet": quiet, "flood": flooded}))


def run_child_flood(kwargs: dict[str, Any]) -> dict[str, Any]:
    return run_child("flood_ui", module="bench.flood", timeout=600, **kwargs)


def child() -> None:
    result = asyncio.run(flood_ui(**json.loads(sys.argv[2])))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "flood_ui":
        child()
    else:
        main()
