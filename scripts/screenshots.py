"""Regenerate screenshots/*.svg and *.png of the real app on the embedded demo server.

    .venv/bin/python scripts/screenshots.py [--out DIR] [--cairo-python PYTHON]

Shoots at 120x36 and at 80x24 (`*-80x24`). The PNGs need `rsvg-convert` (Debian: apt-get install librsvg2-bin)
or, without it, a Python that has the `cairosvg` package: this one, or another given with --cairo-python
(a throwaway virtualenv keeps it out of the project's dependencies).
"""

from __future__ import annotations

import argparse
import asyncio
import re
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


def find(app, title: str, server: str = "local"):
    for row in app.fleet_list._rows.values():
        if row.server == server and row.title.startswith(title):
            return row
    return None


def finished(app, title: str) -> bool:
    row = find(app, title)
    return row is not None and row.status is ExecutionStatus.FINISHED


async def shoot(out: Path, size: tuple[int, int], suffix: str = "") -> list[Path]:
    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as state:
        server = DemoServer(demo_seed=True, token_rate=12.0, slow_seconds=30.0, tool_seconds=0.2).start()
        # A second server so the fleet shows its grouping by server.
        lab = DemoServer(demo_seed=True, token_rate=12.0, slow_seconds=30.0, tool_seconds=0.2).start()
        try:
            fleet = Fleet(
                [ServerConfig("local", server.base_url), ServerConfig("lab", lab.base_url)],
                state_dir=state,
                fast_poll=0.5,
                slow_poll=1.0,
            )
            app = OpenHandsApp(fleet, preferences=Prefs())

            def save(name: str) -> None:
                path = out / f"{name}{suffix}.svg"
                path.write_text(app.export_screenshot(title=f"openhands-tui — {name}"))
                shots.append(path)

            async with app.run_test(size=size) as pilot:
                await wait_for(pilot, lambda: len(app.fleet_list._rows) >= 8, what="seeded conversations")
                await wait_for(pilot, lambda: finished(app, "Tool call demo"), what="the first turn")
                row = find(app, "Tool call demo")
                await app.open_conversation(row.server, row.id)
                coding = app.session
                assert coding is not None
                # The seed sends the coding task once the first turn is over: wait for its test run to pass.
                await wait_for(
                    pilot,
                    lambda: (
                        coding.status is ExecutionStatus.FINISHED
                        and not coding.turn.active
                        and "passed" in repr(coding.timeline.events)
                    ),
                    timeout=60,
                    what="the coding session",
                )
                await pilot.pause(1.0)
                app.clear_notifications()
                app.fleet_list.focus_rows()
                await pilot.pause(0.3)
                save("fleet")

                await pilot.press("f9")  # the whole width for the session
                await pilot.pause(0.3)
                log = app.view.log_widget
                log.scroll_to(y=max(0, log.max_scroll_y - size[1] // 2), animate=False)
                await pilot.pause(0.3)
                save("coding")
                await pilot.press("f9")
                await pilot.pause(0.3)

                row = find(app, "Streaming a long answer")
                await app.open_conversation(row.server, row.id)
                # A reply from its first line: the seeded one started streaming before the app joined.
                await wait_for(pilot, lambda: finished(app, "Streaming a long answer"), 60, what="the seeded reply")
                await app.session.submit("[markdown] The report once more, please.")
                app.view.log_widget.follow()  # what sending from the message box does

                def streaming() -> bool:
                    text = app.view.log_widget.token_stream.text
                    return text.startswith("# Demo report") and "Suggested change" in text

                await wait_for(pilot, streaming, what="a reply streaming mid-markdown")
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
                assert session is not None
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
                app.clear_notifications()
                save("queue")
                # The message box is not per conversation: the draft would follow to the next one.
                app.view.input.load_text("")

                row = find(app, "Waiting for your confirmation")
                await app.open_conversation(row.server, row.id)
                await wait_for(pilot, lambda: app.view.confirmation.has_class("-active"), what="confirmation")
                await pilot.pause(0.3)
                app.clear_notifications()
                save("confirmation")

                await pilot.press("f3")
                await pilot.pause(0.5)
                app.clear_notifications()
                save("attention")
                await pilot.press("escape")
                await pilot.pause(0.3)

                await pilot.press("f1")
                await pilot.pause(0.3)
                save("help")
                await pilot.press("escape")
        finally:
            server.stop()
            lab.stop()
    return shots


# Block elements as (left, top, right, bottom) of the cell. A font draws them shorter than Textual's line height,
# which leaves stripes in borders and scrollbars: cairosvg gets them as rectangles instead.
BLOCKS = {
    "█": (0, 0, 1, 1),
    "▀": (0, 0, 1, 0.5),
    "▔": (0, 0, 1, 0.125),
    "▐": (0.5, 0, 1, 1),
    "▕": (0.875, 0, 1, 1),
    **{chr(0x2581 + i): (0, 1 - (i + 1) / 8, 1, 1) for i in range(7)},  # ▁ … ▇
    **{chr(0x2589 + i): (0, 0, (7 - i) / 8, 1) for i in range(7)},  # ▉ … ▏
}
TEXT = re.compile(r'<text class="([^"]+)" x="([\d.]+)" y="([\d.]+)" textLength="([\d.]+)"[^>]*>([^<]*)</text>')
# Textual's export: 20px text on 24.4px lines, the first baseline at 20 and the first row's top at 1.5.
CELL_W, LINE_H, BASELINE, TOP = 12.2, 24.4, 20.0, 1.5


def blocks_as_rects(svg: str) -> str:
    fills = dict(re.findall(r"\.([\w-]+) \{ fill: (#[0-9a-fA-F]+)", svg))

    def rects(match: re.Match[str]) -> str:
        cls, x, y, _length, text = match.groups()
        if not text or any(ch not in BLOCKS for ch in text) or cls not in fills:
            return match.group(0)
        top = TOP + round((float(y) - BASELINE) / LINE_H) * LINE_H
        out = []
        for i, ch in enumerate(text):
            left, upper, right, lower = BLOCKS[ch]
            cell = float(x) + i * CELL_W
            out.append(
                f'<rect fill="{fills[cls]}" x="{cell + left * CELL_W:.2f}" y="{top + upper * LINE_H:.2f}" '
                f'width="{(right - left) * CELL_W + 0.3:.2f}" height="{(lower - upper) * LINE_H + 0.3:.2f}" shape-rendering="crispEdges"/>'
            )
        return "".join(out)

    return TEXT.sub(rects, svg)


BOX = re.compile(r"[\u2500-\u257f]")


def box_cells(svg: str) -> str:
    """A run with box-drawing characters drawn one cell at a time: the font's box glyphs are not exactly a cell
    wide, so a long border run ends short of the corner or side drawn after it (a break in the border)."""

    def cells(match: re.Match[str]) -> str:
        cls, x, y, _length, text = match.groups()
        if not BOX.search(text):
            return match.group(0)
        chars = re.findall(r"&#?\w+;|.", text)
        return "".join(
            f'<text class="{cls}" x="{float(x) + i * CELL_W:.1f}" y="{y}" textLength="{CELL_W}">{ch}</text>'
            for i, ch in enumerate(chars)
            if ch not in (" ", "&#160;")
        )

    return TEXT.sub(cells, svg)


def braille_font(svg: str) -> str:
    """DejaVu Sans Mono has no braille (the spinners): those runs take DejaVu Sans, which has."""
    return re.sub(
        r"<text (?=[^>]*>[^<]*[\u2800-\u28ff])",
        '<text style="font-family: DejaVu Sans" ',
        svg,
    )


def to_png(svg: Path, cairo_python: str | None) -> Path:
    png = svg.with_suffix(".png")
    text = svg.read_text()
    if shutil.which("rsvg-convert"):
        # rsvg trims leading no-break spaces unless told to keep white space.
        fixed = text.replace("<svg ", '<svg xml:space="preserve" ', 1)
        with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
            tmp.write(fixed)
        subprocess.run(["rsvg-convert", "-w", "1600", "-o", str(png), tmp.name], check=True)
        Path(tmp.name).unlink()
        return png
    # cairosvg has no Fira Code to fall back on: name a monospace font that is commonly installed, sized so its
    # advance (0.602 em) fills Textual's 12.2px cells; else every run of one style ends short of the next.
    fixed = text.replace("Fira Code", "DejaVu Sans Mono").replace("font-size: 20px;", "font-size: 20.27px;")
    fixed = braille_font(box_cells(blocks_as_rects(fixed)))
    python = cairo_python or sys.executable
    convert = (
        "import sys, cairosvg; "
        "cairosvg.svg2png(bytestring=sys.stdin.buffer.read(), write_to=sys.argv[1], output_width=1600)"
    )
    subprocess.run([python, "-c", convert, str(png)], input=fixed.encode(), check=True)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument(
        "--cairo-python",
        help="a Python that has cairosvg, used when rsvg-convert is missing (default: this one)",
    )
    args = parser.parse_args()
    python = args.cairo_python or sys.executable
    has_cairo = subprocess.run([python, "-c", "import cairosvg"], capture_output=True).returncode == 0
    if not shutil.which("rsvg-convert") and not has_cairo:
        raise SystemExit("screenshots: no rsvg-convert, and no cairosvg in this Python: give one with --cairo-python")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = asyncio.run(shoot(out, (120, 36)))
    shots += asyncio.run(shoot(out, (80, 24), "-80x24"))
    for svg in shots:
        print(to_png(svg, args.cairo_python))


if __name__ == "__main__":
    main()
