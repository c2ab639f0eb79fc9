"""Apps run on a real pseudo-terminal by the benchmarks: `python -m bench.apps hello|naive|openhands [URL CID]`."""

from __future__ import annotations

import json
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


def openhands(url: str, cid: str) -> None:
    """The real app with the conversation open (as a user who picked it)."""
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

        async def open_it(self) -> None:
            for _ in range(400):
                if cid in self.fleet.entry("demo").conversations:
                    break
                await asyncio.sleep(0.05)
            await self.open_conversation("demo", cid)

    fleet = Fleet([ServerConfig("demo", url, None)], state_dir=tempfile.mkdtemp())
    Opened(fleet, preferences=Prefs()).run()


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    {"hello": hello, "naive": naive, "openhands": openhands}[name](*args)
