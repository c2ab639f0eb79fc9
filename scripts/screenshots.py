"""Regenerate screenshots/*.svg and *.png of the real app on the embedded demo server.

    .venv/bin/python scripts/screenshots.py [--out DIR]

Needs `rsvg-convert` (Debian: apt-get install librsvg2-bin) or the `cairosvg` package for the PNGs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.snapshot_apps.harness import Prefs  # noqa: E402
from tui.app.app import OpenHandsApp  # noqa: E402
from tui.config import ServerConfig  # noqa: E402
from tui.demo import DemoServer  # noqa: E402
from tui.protocol import ExecutionStatus  # noqa: E402
from tui.session import Fleet  # noqa: E402


async def wait_for(pilot, predicate, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)


def find(app, title: str):
    for row in app.fleet_list._rows.values():
        if row.title.startswith(title):
            return row
    return None


async def shoot(out: Path, size: tuple[int, int], suffix: str = "") -> list[Path]:
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as state:
        server = DemoServer(demo_seed=True, token_rate=12.0, slow_seconds=30.0, tool_seconds=0.2).start()
        try:
            fleet = Fleet([ServerConfig("local", server.base_url)], state_dir=state, fast_poll=0.5, slow_poll=1.0)
            app = OpenHandsApp(fleet, preferences=Prefs())

            def save(name: str) -> None:
                path = out / f"{name}{suffix}.svg"
                path.write_text(app.export_screenshot(title=f"openhands-tui — {name}"))
                shots.append(path)

            async with app.run_test(size=size) as pilot:
                await wait_for(pilot, lambda: len(app.fleet_list._rows) >= 4, what="seeded conversations")
                await wait_for(
                    pilot,
                    lambda: (
                        find(app, "Tool call demo") is not None
                        and find(app, "Tool call demo").status is ExecutionStatus.FINISHED
                    ),
                    what="finished",
                )
                row = find(app, "Tool call demo")
                await app.open_conversation(row.server, row.id)
                await pilot.pause(0.5)
                app.fleet_list.options.focus()
                await pilot.pause(0.3)
                save("fleet")

                row = find(app, "Streaming a long answer")
                await app.open_conversation(row.server, row.id)
                await wait_for(pilot, lambda: len(app.view.log_widget.token_stream.text) > 250, what="streaming")
                await pilot.pause(0.3)
                save("streaming")

                from tui.app.screens.dialogs import NewConversation

                await app.create_conversation(
                    NewConversation(
                        server="local",
                        model="demo/scripted",
                        base_url=None,
                        api_key_env=None,
                        api_key=None,
                        working_dir="/workspace/demo",
                        confirm=False,
                        first_message="[bash] Run echo hello, then finish.",
                    )
                )
                session = app.session
                await wait_for(
                    pilot,
                    lambda: session.status is ExecutionStatus.FINISHED and not session.turn.active,
                    what="first turn",
                )
                app.view.input.focus()
                app.view.input.load_text("[slow] Think about it slowly, please.")
                await pilot.press("enter")
                await wait_for(
                    pilot,
                    lambda: session.status is ExecutionStatus.RUNNING,
                    what=f"running {session.status} {session.connection} {list(session.outbox.items)} {session.hold}",
                )
                for text in ("Then run the tests", "and summarise what failed", "[finish] and stop there"):
                    app.view.input.load_text(text)
                    await pilot.press("enter")
                await wait_for(pilot, lambda: len(app.view.queue.items) == 3, what="queue")
                app.view.input.load_text("A draft I am still typing…")
                await pilot.pause(1.0)
                save("queue")

                row = find(app, "Waiting for your confirmation")
                await app.open_conversation(row.server, row.id)
                await wait_for(pilot, lambda: app.view.confirmation.has_class("-active"), what="confirmation")
                await pilot.pause(0.3)
                save("confirmation")

                await pilot.press("f1")
                await pilot.pause(0.3)
                save("help")
                await pilot.press("escape")
        finally:
            server.stop()
    return shots


def to_png(svg: Path) -> Path:
    png = svg.with_suffix(".png")
    text = svg.read_text()
    if shutil.which("rsvg-convert"):
        # rsvg trims leading no-break spaces unless told to keep white space.
        fixed = text.replace("<svg ", '<svg xml:space="preserve" ', 1)
        with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
            tmp.write(fixed)
        subprocess.run(["rsvg-convert", "-w", "1600", "-o", str(png), tmp.name], check=True)
        Path(tmp.name).unlink()
    else:
        import cairosvg

        cairosvg.svg2png(
            bytestring=text.replace("Fira Code", "DejaVu Sans Mono").encode(), write_to=str(png), output_width=1600
        )
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = asyncio.run(shoot(out, (160, 48)))
    shots += asyncio.run(shoot(out, (80, 24), "-80x24"))
    for svg in shots:
        print(to_png(svg))


if __name__ == "__main__":
    main()
