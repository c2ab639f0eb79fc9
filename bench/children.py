"""Measurements that run in a fresh interpreter each (`python -m bench.children NAME JSON`): they print one JSON
line. CPU is this process's own (`os.times()`), so the demo server and the turn driver (other processes) are
not counted."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench.common import cpu_seconds, percentile, rss_mb

# ------------------------------------------------------------------------------------------- ingest


async def _flood(base_url: str, cid: str, n: int) -> None:
    from tui.client import AgentClient

    async with AgentClient(base_url) as client:
        await client.send_message(cid, f"flood {n}")


def _terminal(obj: Any) -> bool:
    if not isinstance(obj, dict) or obj.get("kind") != "ConversationStateUpdateEvent":
        return False
    value = obj.get("value")
    if obj.get("key") == "full_state" and isinstance(value, dict):
        return value.get("execution_status") == "finished"
    return obj.get("key") == "execution_status" and value == "finished"


async def ingest_baseline(url: str, n: int) -> dict:
    """A bare websockets client that only receives and json.loads."""
    from websockets.asyncio.client import connect

    from bench.common import new_streaming_conversation
    from tui.client import events_url

    cid = await new_streaming_conversation(url)
    async with connect(events_url(url, cid), max_size=None) as ws:
        json.loads(await ws.recv())  # the snapshot
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        asyncio.create_task(_flood(url, cid, n))
        frames = 0
        while True:
            obj = json.loads(await ws.recv())
            frames += 1
            if _terminal(obj) and frames > n:
                break
        took = time.perf_counter() - t0
    return {"frames": frames, "seconds": took, "events_per_s": frames / took, "cpu_s": cpu_seconds() - c0}


async def ingest_session(url: str, n: int) -> dict:
    """Socket + parsing + timeline (ConversationSession), no UI."""
    from bench.common import new_streaming_conversation
    from tui.client import AgentClient
    from tui.session import ConversationSession

    cid = await new_streaming_conversation(url)
    async with AgentClient(url) as client:
        session = ConversationSession(client, cid)
        task = asyncio.create_task(session.run())
        await session.wait_live(20)
        base = len(session.timeline)
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        asyncio.create_task(_flood(url, cid, n))
        await session.wait_until(lambda: len(session.timeline) - base >= n and not session.status.is_busy(), 300)
        took = time.perf_counter() - t0
        frames = len(session.timeline) - base
        task.cancel()
    return {"frames": frames, "seconds": took, "events_per_s": frames / took, "cpu_s": cpu_seconds() - c0}


def _app(url: str, tmp: str, **kwargs: Any):
    """The app as a user runs it (the fleet's own poll intervals), on one server named "demo"."""
    from tests.snapshot_apps.harness import make_app
    from tui.session.fleet import FAST_POLL, SLOW_POLL

    kwargs.setdefault("fast_poll", FAST_POLL)
    kwargs.setdefault("slow_poll", SLOW_POLL)
    return make_app(url, tmp, **kwargs)


async def _open(app, pilot, cid: str, timeout: float = 60) -> None:
    from tests.snapshot_apps.harness import wait_for

    await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, timeout, "listed")
    await app.open_conversation("demo", cid)
    await wait_for(
        pilot, lambda: app.session is not None and app.session.connection.state.value == "live", timeout, "live"
    )


async def ingest_ui(url: str, n: int) -> dict:
    """The live UI (app headless, conversation open) on top of the session."""
    import tempfile

    from bench.common import new_streaming_conversation

    cid = await new_streaming_conversation(url)
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open(app, pilot, cid)
            session = app.session
            base = len(session.timeline)
            log = app.view.log_widget
            t0 = time.perf_counter()
            c0 = cpu_seconds()
            asyncio.create_task(_flood(url, cid, n))
            while not (len(session.timeline) - base >= n and not session.status.is_busy()):
                await asyncio.sleep(0.01)
            log._flush()
            await asyncio.sleep(0)
            took = time.perf_counter() - t0
            frames = len(session.timeline) - base
            shown = len(log.plain_text().splitlines())
            await quiet_exit(app)
    return {
        "frames": frames,
        "seconds": took,
        "events_per_s": frames / took,
        "cpu_s": cpu_seconds() - c0,
        "log_lines": shown,
    }


# ------------------------------------------------------------------------------------------- long history


async def history_session(url: str, cid: str, tail: int | None) -> dict:
    from tui.client import AgentClient
    from tui.session import ConversationSession

    async with AgentClient(url) as client:
        t0 = time.perf_counter()
        session = ConversationSession(client, cid, history_tail=tail)
        task = asyncio.create_task(session.run())
        await session.wait_live(600)
        took = time.perf_counter() - t0
        held = len(session.timeline)
        task.cancel()
    return {"seconds": took, "events": held, "rss_mb": rss_mb()}


async def history_ui(url: str, cid: str) -> dict:
    """Open a 100,000-event conversation in the app: time to the first screen of it; RSS after scrolling to the
    top (and paging older events as the view asks) and back to the bottom."""
    import tempfile

    from tests.snapshot_apps.harness import wait_for

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, 60, "listed")
            rss0 = rss_mb()
            t0 = time.perf_counter()
            await app.open_conversation("demo", cid)
            log = app.view.log_widget
            while True:
                log._flush()
                if len(log.plain_text().strip().splitlines()) >= 20:
                    break
                if time.perf_counter() - t0 > 600:
                    raise TimeoutError("no first screen")
                await asyncio.sleep(0.01)
            first = time.perf_counter() - t0
            held = len(app.session.timeline)
            for _ in range(20):  # to the top, several times: a view that pages older events loads them now
                log.scroll_home(animate=False)
                await pilot.pause(0.1)
            log.scroll_end(animate=False)
            await pilot.pause(0.3)
            rss = rss_mb()
            after_scroll = len(app.session.timeline)
            await quiet_exit(app)
    return {
        "first_screen_s": first,
        "events_held_at_first_screen": held,
        "rss_mb": rss,
        "rss_before_mb": rss0,
        "events_after_scroll": after_scroll,
    }


# ------------------------------------------------------------------------------------------- streaming


class FrameProbe:
    """Records, for each frame the app composites, the time and how much streamed text the widget holds."""

    def __init__(self, app, measure) -> None:
        self.frames: list[tuple[float, int]] = []
        original = app._display

        def display(screen, renderable):
            original(screen, renderable)
            if renderable is not None and not app._batch_count:
                self.frames.append((time.perf_counter(), measure()))

        app._display = display

    def delays(self, arrivals: list[tuple[float, int]]) -> tuple[list[float], int]:
        """For each arrival (time, cumulative length) the delay to the first frame holding that much text."""
        out, missing, j = [], 0, 0
        frames = self.frames
        for t, length in arrivals:
            while j < len(frames) and frames[j][0] < t:
                j += 1
            k = j
            while k < len(frames) and frames[k][1] < length:
                k += 1
            if k < len(frames) and frames[k][1] >= length:
                out.append(frames[k][0] - t)
            else:
                missing += 1
        return out, missing


async def stream_ui(url: str, cid: str, seconds: float, warmup: float = 2.0) -> dict:
    """The app with the streaming conversation open: CPU, and delay from a delta's arrival to a frame showing it."""
    import tempfile

    from tui.session import ChangeKind

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open(app, pilot, cid)
            session = app.session
            stream = app.view.log_widget.token_stream
            md = stream.query_one("#stream-markdown")
            turn = {"gen": 0}
            arrivals: list[tuple[float, int]] = []

            def measure() -> int:
                return len(md.source) if stream._written else -1

            probe = FrameProbe(app, lambda: (turn["gen"], measure()))

            def on_change(change) -> None:
                if change.kind is ChangeKind.TOKENS:
                    content = session.tokens.content
                    if content:
                        arrivals.append((time.perf_counter(), (session.turn.generation, len(content))))

            session.subscribe(on_change)
            await asyncio.sleep(warmup)
            c0, t0 = cpu_seconds(), time.perf_counter()
            n0 = len(arrivals)
            await asyncio.sleep(seconds)
            cpu = cpu_seconds() - c0
            took = time.perf_counter() - t0
            window = arrivals[n0:]
            await quiet_exit(app)
    # Per turn: a frame counts for an arrival when it shows at least that much of the same reply.
    delays, missing = [], 0
    frames = [(t, v) for t, v in probe.frames]
    j = 0
    for t, (_gen, length) in window:
        while j < len(frames) and frames[j][0] < t:
            j += 1
        hit = next((f[0] for f in frames[j : j + 400] if f[1][1] >= length), None)
        if hit is None:
            missing += 1
        else:
            delays.append(hit - t)
    backlog = _backlog(window, delays)
    return {
        "cpu_pct": 100 * cpu / took,
        "deltas": len(window),
        "p50_ms": 1000 * percentile(delays, 0.5),
        "p95_ms": 1000 * percentile(delays, 0.95),
        "unseen": missing,
        "backlog_slope_ms_per_s": backlog,
        "frames": len(frames),
    }


def _backlog(window, delays) -> float | None:
    """Slope of delay over time (ms per s): ~0 when it keeps up, positive when a backlog grows."""
    if len(delays) < 10:
        return None
    xs = [w[0] - window[0][0] for w in window[: len(delays)]]
    n = len(xs)
    mx, my = sum(xs) / n, sum(delays) / n
    var = sum((x - mx) ** 2 for x in xs)
    return 1000 * sum((x - mx) * (y - my) for x, y in zip(xs, delays, strict=False)) / var if var else None


async def stream_baseline(url: str, cid: str, seconds: float, warmup: float = 2.0) -> dict:
    """The naive app: a Textual Markdown fed by Markdown.get_stream() with each delta from a bare websocket."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown
    from websockets.asyncio.client import connect

    from tui.client import events_url

    arrivals: list[tuple[float, tuple[int, int]]] = []

    class Naive(App):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Markdown("")

        async def consume(self) -> None:
            md = self.query_one(Markdown)
            stream = Markdown.get_stream(md)
            gen, length = 0, 0
            async with connect(events_url(url, cid), max_size=None) as ws:
                async for raw in ws:
                    obj = json.loads(raw)
                    kind = obj.get("kind")
                    if kind == "StreamingDeltaEvent":
                        text = obj.get("content") or ""
                        if text:
                            length += len(text)
                            arrivals.append((time.perf_counter(), (gen, length)))
                            await stream.write(text)
                    elif kind == "MessageEvent" and obj.get("source") == "agent":
                        await stream.stop()
                        await md.update("")
                        stream = Markdown.get_stream(md)
                        gen, length = gen + 1, 0
                        self.gen = gen

    app = Naive()
    app.gen = 0
    async with app.run_test(size=(120, 40)):
        md = app.query_one(Markdown)
        probe = FrameProbe(app, lambda: (app.gen, len(md.source)))
        app.run_worker(app.consume(), exit_on_error=False)
        await asyncio.sleep(warmup)
        c0, t0 = cpu_seconds(), time.perf_counter()
        n0 = len(arrivals)
        await asyncio.sleep(seconds)
        cpu = cpu_seconds() - c0
        took = time.perf_counter() - t0
        window = arrivals[n0:]
    delays, missing = [], 0
    frames = probe.frames
    j = 0
    for t, (gen, length) in window:
        while j < len(frames) and frames[j][0] < t:
            j += 1
        hit = next((f[0] for f in frames[j : j + 400] if f[1][0] == gen and f[1][1] >= length), None)
        if hit is None:
            missing += 1
        else:
            delays.append(hit - t)
    return {
        "cpu_pct": 100 * cpu / took,
        "deltas": len(window),
        "p50_ms": 1000 * percentile(delays, 0.5),
        "p95_ms": 1000 * percentile(delays, 0.95),
        "unseen": missing,
        "backlog_slope_ms_per_s": _backlog(window, delays),
        "frames": len(frames),
    }


# ------------------------------------------------------------------------------------------- fleet


async def fleet_ui(url: str, seconds: float, presses: int = 40) -> dict:
    """All conversations listed, the running ones watched by the app; key presses move the list cursor: delay
    from the press to the frame that shows the move; process CPU."""
    import tempfile

    from tests.snapshot_apps.harness import wait_for

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: len(app.fleet.entry("demo").conversations) >= 100, 60, "100 listed")
            await asyncio.sleep(3)  # the streaming ones get watched
            lst = app.fleet_list.options  # the OptionList: `highlighted` is the cursor index
            lst.focus()
            await pilot.pause(0.2)
            state = {"want": None, "t": 0.0}
            delays: list[float] = []
            original = app._display

            def display(screen, renderable):
                original(screen, renderable)
                if state["want"] is not None and lst.highlighted == state["want"]:
                    delays.append(time.perf_counter() - state["t"])
                    state["want"] = None

            app._display = display
            c0, t0 = cpu_seconds(), time.perf_counter()
            gap = seconds / presses
            for i in range(presses):
                key = "down" if (i // 10) % 2 == 0 else "up"
                before = lst.highlighted
                state["t"] = time.perf_counter()
                state["want"] = None if before is None else (before + (1 if key == "down" else -1))
                app.simulate_key(key)
                await asyncio.sleep(gap)
            cpu = cpu_seconds() - c0
            took = time.perf_counter() - t0
            watched = len(app.watched)
            await quiet_exit(app)
    return {
        "cpu_pct": 100 * cpu / took,
        "presses": presses,
        "seen": len(delays),
        "p50_ms": 1000 * percentile(delays, 0.5),
        "p95_ms": 1000 * percentile(delays, 0.95),
        "watched": watched,
    }


async def fleet_idle_cpu(url: str, seconds: float) -> dict:
    """Same app, nothing pressed: CPU only (for comparison)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)):
            await asyncio.sleep(3)
            c0, t0 = cpu_seconds(), time.perf_counter()
            await asyncio.sleep(seconds)
            return {"cpu_pct": 100 * (cpu_seconds() - c0) / (time.perf_counter() - t0), "watched": len(app.watched)}


# ------------------------------------------------------------------------------------------- memory


def _census(top: int = 0) -> dict[str, int]:
    """Live objects by type name after a full collection (the gc-tracked ones: containers, instances)."""
    import collections
    import gc

    gc.collect()
    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    return dict(counts.most_common(top) if top else counts)


def _widget_census(app) -> dict[str, Any]:
    """Widgets alive vs widgets in the DOM, by class: what is alive but detached is kept by a reference."""
    import collections
    import gc

    from textual.widget import Widget

    gc.collect()
    in_dom = {id(w) for screen in app.screen_stack for w in screen.walk_children(with_self=True)}
    alive: collections.Counter = collections.Counter()
    detached: collections.Counter = collections.Counter()
    for o in gc.get_objects():
        if isinstance(o, Widget):
            name = type(o).__name__
            alive[name] += 1
            if id(o) not in in_dom:
                detached[name] += 1
    return {"alive": dict(alive.most_common(15)), "detached": dict(detached.most_common(15))}


def _holders(obj, depth: int = 6) -> list[str]:
    """One chain of referrers from `obj` up to something named (a module dict, a class, the app): who keeps it."""
    import gc
    import types

    chain, seen = [], {id(obj)}
    current = obj
    for _ in range(depth):
        refs = [
            r
            for r in gc.get_referrers(current)
            if id(r) not in seen and not isinstance(r, types.FrameType) and r is not chain
        ]
        if not refs:
            break
        # Prefer the referrer that is not a bound method/cell of our own probing.
        ref = refs[0]
        seen.add(id(ref))
        desc = type(ref).__qualname__
        if isinstance(ref, dict):
            keys = [k for k, v in ref.items() if v is current][:1]
            desc += f"[{keys[0]!r}]" if keys else ""
        elif isinstance(ref, (list, tuple)):
            desc += f"(len {len(ref)})"
        chain.append(desc)
        current = ref
    return chain


async def _turn(app, pilot, session, text: str, timeout: float = 60) -> None:
    """One turn as a person does it: type into the message box, press enter, wait until the turn settled."""
    from tests.snapshot_apps.harness import wait_for

    settled = len(session.settled)
    box = app.view.input
    box.focus()
    box.load_text(text)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(session.settled) > settled, timeout, "turn settled")


async def memory_ui(
    url: str, cid: str, turns: int, marks: list[int], census: bool = False, text: str = "[text]"
) -> dict:
    """RSS of the app with one conversation open while a person runs `turns` short turns in it, at each mark
    (after a full collection). With `census`: objects by type, widgets alive vs in the DOM, what holds a detached
    widget, and a tracemalloc diff between the first non-zero mark and the last."""
    import gc
    import tempfile
    import tracemalloc

    curve: dict[int, float] = {}
    censuses: dict[int, Any] = {}
    snapshots: dict[int, Any] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open(app, pilot, cid)
            session = app.session
            await pilot.pause(0.5)
            if census:
                tracemalloc.start(8)
            for n in range(turns + 1):
                if n in marks:
                    await pilot.pause(0.2)
                    gc.collect()
                    curve[n] = rss_mb()
                    if census:
                        censuses[n] = {"types": _census(), "widgets": _widget_census(app)}
                        snapshots[n] = tracemalloc.take_snapshot()
                if n < turns:
                    await _turn(app, pilot, session, text)
            result: dict[str, Any] = {
                "rss_mb": curve,
                "growth_mb": curve[max(curve)] - curve[min(curve)],
                "seconds": time.perf_counter() - t0,
                "events": len(session.timeline),
                "log_items_mounted": len(app.view.log_widget.children),
            }
            if census:
                first, last = sorted(censuses)[1 if len(censuses) > 1 else 0], max(censuses)
                a, b = censuses[first]["types"], censuses[last]["types"]
                per_turn = max(1, last - first)
                grown = sorted(((b.get(k, 0) - a.get(k, 0), k) for k in set(a) | set(b)), reverse=True)[:30]
                result["census_turns"] = [first, last]
                result["objects_grown"] = {k: {"total": d, "per_turn": round(d / per_turn, 1)} for d, k in grown}
                result["widgets"] = {n: censuses[n]["widgets"] for n in sorted(censuses)}
                stats = snapshots[last].compare_to(snapshots[first], "traceback")
                result["tracemalloc_top"] = [
                    {
                        "kb": round(s.size_diff / 1024, 1),
                        "blocks": s.count_diff,
                        "where": [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in s.traceback][-4:],
                    }
                    for s in stats[:15]
                ]
                from textual.widget import Widget

                gc.collect()
                in_dom = {id(w) for screen in app.screen_stack for w in screen.walk_children(with_self=True)}
                holders = {}
                for o in gc.get_objects():
                    if isinstance(o, Widget) and id(o) not in in_dom and type(o).__name__ not in holders:
                        holders[type(o).__name__] = _holders(o)
                result["detached_widget_holders"] = holders
            await quiet_exit(app)
    return result


async def memory_session(url: str, cid: str, turns: int, marks: list[int], text: str = "[text]") -> dict:
    """The baseline: the same turns through a ConversationSession alone (socket, timeline, outbox; no Textual)."""
    import gc
    import tempfile

    from tui.client import AgentClient
    from tui.session import ConversationSession

    curve: dict[int, float] = {}
    with tempfile.TemporaryDirectory():
        async with AgentClient(url) as client:
            session = ConversationSession(client, cid, history_tail=300)
            task = asyncio.create_task(session.run())
            await session.wait_live(20)
            for n in range(turns + 1):
                if n in marks:
                    await asyncio.sleep(0.2)
                    gc.collect()
                    curve[n] = rss_mb()
                if n < turns:
                    item = await session.submit(text)
                    await session.wait_until(lambda item=item: item.id in session.settled, 60)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return {"rss_mb": curve, "growth_mb": curve[max(curve)] - curve[min(curve)], "events": len(session.timeline)}


# ------------------------------------------------------------------------------------------- far servers


async def far_open(url: str, direct_url: str, cid: str, gap: float = 0.05, after: float = 3.0) -> dict:
    """The app on a server behind the latency proxy (`url`): time from `open_conversation` to the first frame
    that shows the conversation's newest event, while a person types into the message box every `gap` seconds;
    then `after` seconds more of typing with the list polled each second. Key delay: press → first frame whose
    message box holds that key. Times are perf_counter (the proxy's log uses the same clock)."""
    import tempfile

    from tests.snapshot_apps.harness import wait_for
    from tui.app import render
    from tui.app.widgets.event_log import EventItem
    from tui.client import AgentClient

    async with AgentClient(direct_url) as direct:
        newest, _ = await direct.search_events(cid, limit=50, descending=True)
    # The newest event a block of the log starts from or closes (a message, a tool call or its result): status
    # updates are folded into footers, so they are not looked for.
    target = next(
        e.id for e in newest if render.is_shown(e) and e.kind in ("MessageEvent", "ActionEvent", "ObservationEvent")
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, 60, "listed")
            await pilot.pause(1.0)
            log = app.view.log_widget
            state: dict[str, Any] = {"shown": None, "want": None, "t": 0.0}
            delays: list[tuple[float, float]] = []  # (press time, delay)
            original = app._display

            def display(screen, renderable):
                original(screen, renderable)
                now = time.perf_counter()
                if state["want"] is not None and len(app.view.input.text) >= state["want"]:
                    delays.append((state["t"], now - state["t"]))
                    state["want"] = None
                if state["shown"] is None and any(
                    isinstance(w, EventItem) and target in (w.block.event.id, getattr(w.block.result, "id", None))
                    for w in log.children
                ):
                    state["shown"] = now

            app._display = display
            t_open = time.perf_counter()
            await app.open_conversation("demo", cid)
            t_bound = time.perf_counter()
            app.view.input.focus()
            deadline = t_open + 120
            keys = 0
            after_end = None
            last_poke = 0.0
            while time.perf_counter() < deadline:
                now = time.perf_counter()
                if state["shown"] is not None and after_end is None:
                    after_end = now + after
                if after_end is not None:
                    if now >= after_end:
                        break
                    if now - last_poke >= 1.0:
                        app.fleet.poke()  # a list poll in flight, through the proxy
                        last_poke = now
                if state["want"] is None:
                    keys += 1
                    state["t"] = time.perf_counter()
                    state["want"] = len(app.view.input.text) + 1
                    app.simulate_key("x")
                await asyncio.sleep(gap)
            live = app.session.connection.state.value
            held = len(app.session.timeline)
            await quiet_exit(app)
    return {
        "open_s": (state["shown"] - t_open) if state["shown"] else None,
        "t_open": t_open,
        "t_shown": state["shown"],
        "bind_s": t_bound - t_open,
        "keys": keys,
        "key_delays": delays,
        "state": live,
        "events_held": held,
    }


# ------------------------------------------------------------------------------------------- ten times the fleet


def _watch_slow_callbacks(threshold: float = 0.02) -> list[tuple[float, str]]:
    """Every event-loop callback that holds the loop longer than `threshold` s: (ms, what it ran), for the
    innermost frame of our code or Textual's that it was in when it started (a task's coroutine)."""
    from asyncio import events

    out: list[tuple[float, str]] = []
    run = events.Handle._run

    def timed(self):
        t, c = time.perf_counter(), time.thread_time()
        run(self)
        took = time.perf_counter() - t
        if took > threshold:
            cb = getattr(self, "_callback", None)
            task = getattr(cb, "__self__", None)
            coro = getattr(task, "get_coro", lambda: None)() if task is not None else None
            name = getattr(coro, "__qualname__", None) or getattr(cb, "__qualname__", repr(cb))
            out.append((1000 * took, str(name)))
            # The CPU it took: far below the wall time, the process waited for a core (the machine's load).
            out.append((1000 * (time.thread_time() - c), f"{name} (CPU)"))

    events.Handle._run = timed  # type: ignore[method-assign]
    return out


def _watch_gc() -> list[tuple[int, float]]:
    """Every garbage collection from now on: (generation, ms it held the process)."""
    import gc

    pauses: list[tuple[int, float]] = []
    started: dict[str, float] = {}

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started["t"] = time.perf_counter()
        elif "t" in started:
            pauses.append((info["generation"], 1000 * (time.perf_counter() - started.pop("t"))))

    gc.callbacks.append(callback)
    return pauses


def _gc_summary(pauses: list[tuple[int, float]]) -> dict:
    """Per generation: how many collections, their total and longest pause (ms), during the key presses and the quiet window after them."""
    out: dict[str, dict] = {}
    for gen, ms in list(pauses):
        d = out.setdefault(f"gen{gen}", {"count": 0, "total_ms": 0.0, "max_ms": 0.0})
        d["count"] += 1
        d["total_ms"] = round(d["total_ms"] + ms, 1)
        d["max_ms"] = round(max(d["max_ms"], ms), 1)
    return out


def _slow_summary(slow: list[tuple[float, str]]) -> dict:
    import collections

    by = collections.defaultdict(list)
    for ms, name in slow:
        by[name].append(ms)
    return {
        name: {"count": len(v), "total_ms": round(sum(v)), "max_ms": round(max(v))}
        for name, v in sorted(by.items(), key=lambda kv: -sum(kv[1]))[:15]
    }


def _top_calls(prof, n: int = 20) -> list[dict]:
    """The functions with the largest cumulative time in a cProfile run."""
    import pstats

    stats = pstats.Stats(prof)
    rows = [
        {"where": f"{file.rsplit('/', 1)[-1]}:{line}:{func}", "calls": nc, "self_ms": tt * 1000, "cum_ms": ct * 1000}
        for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    rows.sort(key=lambda r: -r["cum_ms"])
    return [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in rows[:n]]


async def fleet10x_ui(
    urls: list[str], per_server: int, watch_idle: int, seconds: float, presses: int = 60, profile: bool = False
) -> dict:
    """The app on len(urls) servers of `per_server` conversations each; every running one is watched (the fleet
    starts them streaming), plus `watch_idle` idle ones pinned. Key presses move the list cursor: press → frame
    showing the move; process CPU and RSS; the list polling: polls per server, the time each poll's handling
    (`refresh_fleet`) holds the loop, and the bytes the frames after the polls would write to a terminal."""
    import tempfile

    from tests.snapshot_apps.harness import Prefs, wait_for
    from tui.app.app import OpenHandsApp
    from tui.config import ServerConfig
    from tui.session import Fleet

    names = [f"s{i}" for i in range(len(urls))]
    with tempfile.TemporaryDirectory() as tmp:
        fleet = Fleet([ServerConfig(n, u, None) for n, u in zip(names, urls, strict=True)], state_dir=tmp)
        app = OpenHandsApp(fleet, preferences=Prefs())
        t_start = time.perf_counter()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(
                pilot,
                lambda: all(len(fleet.entry(n).conversations) >= per_server for n in names),
                180,
                "all listed",
            )
            listed_s = time.perf_counter() - t_start
            idle = [
                (n, cid)
                for n in names
                for cid, info in fleet.entry(n).conversations.items()
                if not info.status.is_busy()
            ]
            step = max(1, len(idle) // max(1, watch_idle))
            for key in idle[::step][:watch_idle]:
                app.watchlist.pinned.add(key)
                app.watch_conversation(key)
            await wait_for(
                pilot,
                lambda: (
                    sum(w.session.connection.state.value == "live" for w in app.watched.values())
                    >= len(app.watched) * 0.95
                ),
                180,
                "watched sessions live",
            )
            await asyncio.sleep(3)
            # Instruments: list polls, the handling of their changes, frames.
            polls: dict[str, int] = dict.fromkeys(names, 0)
            changes: dict[str, int] = dict.fromkeys(names, 0)
            refresh_ms: list[float] = []
            refresh_one = fleet._refresh_one

            async def counted(entry):
                await refresh_one(entry)
                polls[entry.name] += 1

            fleet._refresh_one = counted  # type: ignore[method-assign]
            emit = fleet._emit

            def counted_emit(change):
                changes[change.server_name] = changes.get(change.server_name, 0) + 1
                emit(change)

            fleet._emit = counted_emit  # type: ignore[method-assign]
            refresh_fleet = app.refresh_fleet

            prof = None
            if profile:
                import cProfile

                prof = cProfile.Profile()

            def timed_refresh_fleet():
                t = time.perf_counter()
                if prof is not None:
                    prof.enable()
                refresh_fleet()
                if prof is not None:
                    prof.disable()
                refresh_ms.append(1000 * (time.perf_counter() - t))

            app.refresh_fleet = timed_refresh_fleet  # type: ignore[method-assign]
            # A poll that only changed some rows is handled without `refresh_fleet`: time that path too.
            changed_rows = getattr(app.watchlist, "changed_rows", None)

            def timed_changed_rows(server, cids):
                t = time.perf_counter()
                try:
                    return changed_rows(server, cids)
                finally:
                    refresh_ms.append(1000 * (time.perf_counter() - t))

            if changed_rows is not None:
                app.watchlist.changed_rows = timed_changed_rows  # type: ignore[method-assign]
            lst = app.fleet_list.options
            lst.focus()
            await pilot.pause(0.3)
            state: dict[str, Any] = {"want": None, "t": 0.0, "bytes": False}
            delays: list[float] = []
            frame_bytes: list[tuple[float, int, int]] = []  # (time, bytes, rows in the list)
            list_region = app.fleet_list.region
            original = app._display

            def display(screen, renderable):
                original(screen, renderable)
                if state["want"] is not None and lst.highlighted == state["want"]:
                    delays.append(time.perf_counter() - state["t"])
                    state["want"] = None
                if state["bytes"] and renderable is not None and hasattr(renderable, "render_segments"):
                    spans = getattr(renderable, "spans", None) or []
                    rows = sum(1 for y, x1, _x2 in spans if list_region.contains(x1, y))
                    frame_bytes.append((time.perf_counter(), len(renderable.render_segments(app.console)), rows))

            app._display = display
            slow: list[tuple[float, str]] = []
            if profile:
                slow = _watch_slow_callbacks()
            gc_pauses = _watch_gc()
            c0, t0 = cpu_seconds(), time.perf_counter()
            gap = seconds / presses
            for i in range(presses):
                key = "down" if (i // 10) % 2 == 0 else "up"
                before = lst.highlighted
                state["t"] = time.perf_counter()
                state["want"] = None if before is None else (before + (1 if key == "down" else -1))
                app.simulate_key(key)
                await asyncio.sleep(gap)
            cpu = cpu_seconds() - c0
            took = time.perf_counter() - t0
            polls_keys = dict(polls)
            changes_keys = dict(changes)
            rss = rss_mb()
            # Second window, nothing pressed: what the polls alone send to the screen.
            state["bytes"] = True
            polls0 = sum(polls.values())
            await asyncio.sleep(seconds / 2)
            quiet_polls = sum(polls.values()) - polls0
            quiet_bytes = sum(b for _t, b, _r in frame_bytes)
            quiet_list_rows = sum(r for _t, _b, r in frame_bytes)
            watched = len(app.watched)
            conversations = sum(len(fleet.entry(n).conversations) for n in names)
            running = sum(1 for n in names for i in fleet.entry(n).conversations.values() if i.status.is_busy())
            await quiet_exit(app)
    hot = _top_calls(prof) if prof is not None else None
    return {
        "refresh_fleet_profile": hot,
        "gc_pauses_ms": _gc_summary(gc_pauses),
        "slow_callbacks": _slow_summary(slow) if profile else None,
        "servers": len(urls),
        "conversations": conversations,
        "running": running,
        "watched": watched,
        "listed_s": listed_s,
        "cpu_pct": 100 * cpu / took,
        "rss_mb": rss,
        "presses": presses,
        "seen": len(delays),
        "p50_ms": 1000 * percentile(delays, 0.5),
        "p95_ms": 1000 * percentile(delays, 0.95),
        "max_ms": 1000 * max(delays) if delays else None,
        "polls_per_server": polls_keys,
        "changed_polls_per_server": changes_keys,
        "polls": sum(polls_keys.values()),
        "refresh_fleet_calls": len(refresh_ms),
        "refresh_fleet_ms_p50": percentile(refresh_ms, 0.5),
        "refresh_fleet_ms_max": max(refresh_ms) if refresh_ms else None,
        "refresh_fleet_ms_per_s": sum(refresh_ms) / took,
        "refresh_fleet_ms_per_poll": sum(refresh_ms) / max(1, sum(polls_keys.values())),
        "quiet_polls": quiet_polls,
        "quiet_bytes_per_poll": quiet_bytes / quiet_polls if quiet_polls else None,
        "quiet_list_rows_per_poll": quiet_list_rows / quiet_polls if quiet_polls else None,
    }


def main() -> None:
    name, raw = sys.argv[1], sys.argv[2]
    result = asyncio.run(globals()[name](**json.loads(raw)))
    print(json.dumps(result), flush=True)


async def quiet_exit(app) -> None:
    """Stop following before the app exits: changes still queued at exit hit a half-torn-down view (a known bug,
    see the report), which would turn a finished measurement into a crash."""
    for key in list(getattr(app, "watched", {})):
        app.unwatch(key)
    unsubscribe = getattr(app, "_unsubscribe_fleet", None)
    if unsubscribe:
        unsubscribe()
        app._unsubscribe_fleet = None
    app.workers.cancel_group(app, "fleet")
    await asyncio.sleep(0.3)


if __name__ == "__main__":
    main()
