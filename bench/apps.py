"""Apps run on a real pseudo-terminal by the benchmarks: `python -m bench.apps hello|textarea|naive|openhands [URL CID]`."""

from __future__ import annotations

import json
import os
import sys


def hello() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Hello(App):
        def compose(self) -> ComposeResult:
            yield Static("Hello, world")

    Hello().run()


def naive(url: str, cid: str) -> None:
    """The baseline: a Markdown widget fed by Markdown.get_stream() with each delta from a bare websocket."""
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll
    from textual.widgets import Markdown
    from websockets.asyncio.client import connect

    from tui.client import events_url

    class Naive(App):
        def compose(self) -> ComposeResult:
            yield Static_ready()
            with VerticalScroll():
                yield Markdown("")

        def on_mount(self) -> None:
            self.run_worker(self.consume(), exit_on_error=False)

        async def consume(self) -> None:
            md = self.query_one(Markdown)
            stream = Markdown.get_stream(md)
            async with connect(events_url(url, cid), max_size=None) as ws:
                async for raw in ws:
                    obj = json.loads(raw)
                    kind = obj.get("kind")
                    if kind == "StreamingDeltaEvent" and obj.get("content"):
                        await stream.write(obj["content"])
                    elif kind == "MessageEvent" and obj.get("source") == "agent":
                        await stream.stop()
                        await md.update("")
                        stream = Markdown.get_stream(md)

    def Static_ready():
        from textual.widgets import Static

        return Static("naive ready")

    Naive().run()


def textarea() -> None:
    """A Textual hello-world with a focused TextArea: what a blinking cursor alone writes."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static, TextArea

    class Hello(App):
        def compose(self) -> ComposeResult:
            yield Static("Hello, world")
            yield TextArea("")

        def on_mount(self) -> None:
            self.query_one(TextArea).focus()

    Hello().run()


def _record_refreshes(app, path: str) -> None:
    """Which widget asks for a repaint, and from where: `Widget.refresh` calls counted by (widget class, id,
    the caller outside Textual's own refresh machinery), with the time of each; dumped every second."""
    import atexit
    import sys as _sys
    import time as _time

    from textual.widget import Widget

    calls: list[tuple[float, str]] = []
    original = Widget.refresh

    def refresh(self, *regions, **kwargs):
        frame = _sys._getframe(1)
        where = []
        while frame is not None and len(where) < 3:
            code = frame.f_code
            if "textual/widget.py" not in code.co_filename or not where:
                where.append(f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}")
            frame = frame.f_back
        calls.append((_time.perf_counter(), f"{type(self).__name__}#{self.id or ''} <- {' <- '.join(where)}"))
        return original(self, *regions, **kwargs)

    Widget.refresh = refresh  # type: ignore[method-assign]

    # Each frame written: time, kind, the rows/spans it touches and its bytes.
    frames: list[tuple[float, str, list, int]] = []
    written = [0]
    driver = app._driver
    write = driver.write

    def counting_write(data: str) -> None:
        written[0] += len(data.encode())
        write(data)

    driver.write = counting_write
    display = app._display

    def recording_display(screen, renderable) -> None:
        written[0] = 0
        display(screen, renderable)
        if renderable is None or not written[0]:
            return
        spans = getattr(renderable, "spans", None)
        if spans is None:
            region = getattr(renderable, "region", None)
            spans = [(y, region.x, region.right) for y in range(region.y, region.bottom)] if region else []
        frames.append((_time.perf_counter(), type(renderable).__name__, [list(sp) for sp in spans], written[0]))

    app._display = recording_display

    def regions() -> dict[str, list[int]]:
        """Where the main widgets are on screen now (for attributing spans)."""
        out = {}
        for selector in (
            "#fleet",
            "#conversation",
            "EventLog",
            "TokenStream",
            "StatusBar",
            "MessageInput",
            "QueueView",
            "Footer",
            "Toast",
            "ToastRack",
        ):
            for widget in app.screen.query(selector):
                r = widget.region
                out[f"{type(widget).__name__}#{widget.id or ''}"] = [r.x, r.y, r.width, r.height]
        return out

    def dump() -> None:
        with open(path, "w") as fh:
            json.dump({"refresh": calls, "frames": frames, "regions": regions()}, fh)

    atexit.register(dump)
    app.set_interval(1.0, dump)


def openhands(url: str, cid: str) -> None:
    """The real app with the conversation open (as a user who picked it). `BENCH_FOCUS=list` moves the focus to
    the conversation list once it is open; `BENCH_REFRESH_LOG=FILE` records who asks for repaints."""
    import asyncio
    import tempfile

    from tests.snapshot_apps.harness import Prefs
    from tui.app.app import OpenHandsApp
    from tui.config import ServerConfig
    from tui.session import Fleet

    class Opened(OpenHandsApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.run_worker(self.open_it(), exit_on_error=False)
            if os.environ.get("BENCH_REFRESH_LOG"):
                _record_refreshes(self, os.environ["BENCH_REFRESH_LOG"])

        async def open_it(self) -> None:
            for _ in range(400):
                if cid in self.fleet.entry("demo").conversations:
                    break
                await asyncio.sleep(0.05)
            await self.open_conversation("demo", cid)
            if os.environ.get("BENCH_FOCUS") == "list":
                self.action_back_to_list()

    fleet = Fleet([ServerConfig("demo", url, None)], state_dir=tempfile.mkdtemp())
    Opened(fleet, preferences=Prefs()).run()


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    {"hello": hello, "textarea": textarea, "naive": naive, "openhands": openhands}[name](*args)
