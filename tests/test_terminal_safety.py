"""Server text is data: ANSI CSI and OSC sequences (OSC 52 clipboard writes, OSC 8 links), C0 and C1 controls
and Rich markup in event text and titles are shown literally (controls stripped, markup not interpreted) in every
widget, notification and export. The test reads what would go to the terminal: the full frame the compositor
renders (the exact escape codes the driver writes), the SVG screenshot, and the exports."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.helpers import new_conversation
from tests.snapshot_apps.harness import create, log_text, make_app, wait_for
from tui.client import AgentClient

EVIL = (
    "EVIL1 \x1b]52;c;ZWNobyBwd25lZA==\x07osc52 \x1b]8;;http://evil.example/\x07link\x1b]8;;\x07 "
    "\x1b[2J\x1b[31mred\x1b[0m \x9b31mc1csi \x9d0;c1title\x9c \x1bP1$qm\x1b\\dcs \x07bell \x08bs \x00nul "
    "\x1b(0box\x1b(B \x0e\x0fshift \x7fdel \x85nel "
    "[bold red]markup[/bold red] [link=http://evil.example]click[/link] :smile: EVIL2"
)
LITERALS = ["[bold red]markup[/bold red]", "[link=http://evil.example]click[/link]", "EVIL1", "EVIL2"]
TITLE = "T\x1b]52;c;dGl0bGU=\x07itle \x1b[5m[reverse]x[/reverse]\x9b2J"
TITLE_LITERAL = "[reverse]x[/reverse]"

# What Textual itself writes in a frame: CSI cursor moves and SGR colours. Nothing else may reach the terminal.
TEXTUAL_CSI = re.compile(r"\x1b\[[0-9;:?]*[A-Za-z]")
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def frame_text(app) -> str:
    """The full frame exactly as the driver would write it to the terminal."""
    update = app.screen._compositor.render_update(full=True)
    return update.render_segments(app.console)


def assert_terminal_safe(frame: str, where: str) -> None:
    assert "\x1b]" not in frame, f"OSC sequence reaches the terminal in {where}"
    assert "\x1bP" not in frame, f"DCS reaches the terminal in {where}"
    rest = TEXTUAL_CSI.sub("", frame)
    bad = FORBIDDEN.findall(rest.replace("\n", ""))
    assert not bad, f"control characters reach the terminal in {where}: {sorted(set(bad))!r}"


def screen_plain(app) -> str:
    return TEXTUAL_CSI.sub("", frame_text(app))


@pytest.mark.timeout(60)
async def test_event_text_and_titles_are_shown_literally(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        cid = await create(pilot, app)
        session = app.session
        await session.submit("[text] " + EVIL)
        await wait_for(pilot, lambda: "EVIL2" in log_text(app), what="the message in the log")
        async with AgentClient(demo_server.base_url) as client:
            await client.rename_conversation(cid, TITLE)
        await session.refresh_info()
        await wait_for(
            pilot, lambda: "itle" in str(app.fleet_list.row("demo", cid).title or ""), 15, what="the title in the list"
        )
        await pilot.pause(0.3)
        # A notice carrying server text (what a server error shows: the app titles it with the conversation's
        # title), and a queued item.
        session._notice("the server answered: " + EVIL)
        session.outbox.add(EVIL)
        app.view.update_queue()
        await pilot.pause(0.5)

        frame = frame_text(app)
        assert_terminal_safe(frame, "the screen")
        plain = screen_plain(app)
        for literal in [*LITERALS, TITLE_LITERAL]:
            assert literal in plain, f"{literal!r} is not shown literally on screen"
        text = log_text(app)
        assert "[bold red]markup[/bold red]" in text and "\x1b" not in text

        svg = app.export_screenshot()
        assert "\x1b" not in svg and not FORBIDDEN.search(svg.replace("\n", "").replace("\t", "").replace("\r", ""))
        assert "evil.example" not in re.sub(
            r"\[link=http://evil\.example\]", "", svg.replace("&#160;", " ")
        ) or "[link=http://evil.example]" in svg.replace("&#160;", " ")
        assert 'href="http://evil.example' not in svg  # markup never became a link


def test_exports_show_server_text_literally(demo_server, tmp_path):
    import asyncio

    async def make() -> str:
        async with AgentClient(demo_server.base_url) as client:
            cid = await new_conversation(client)
            await client.send_message(cid, "[text] " + EVIL)
            await client.rename_conversation(cid, TITLE)
            for _ in range(100):
                if len(await client.all_events(cid)) >= 3:
                    break
                await asyncio.sleep(0.05)
            return cid

    cid = asyncio.run(make())
    env = {"OPENHANDS_TUI_STATE_DIR": str(tmp_path / "state"), "OPENHANDS_TUI_CONFIG_DIR": str(tmp_path / "cfg")}
    import os

    md = subprocess.run(
        [sys.executable, "-m", "tui", "--server", demo_server.base_url, "export", cid],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert md.returncode == 0, md.stderr
    assert_terminal_safe(md.stdout, "the Markdown export")
    for literal in LITERALS:
        assert literal in md.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "tui", "--server", demo_server.base_url, "list"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert_terminal_safe(listing.stdout, "list")
    assert TITLE_LITERAL in listing.stdout
    watch = subprocess.run(
        [sys.executable, "-m", "tui", "--server", demo_server.base_url, "watch", cid, "--until-done"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert_terminal_safe(watch.stdout, "watch")
    assert "EVIL1" in watch.stdout
    # JSON output printed to a terminal: ESC is escaped by json (\\u001b), but 8-bit C1 controls (CSI \\x9b,
    # OSC \\x9d, ST \\x9c) are written raw with ensure_ascii=False; some terminals act on them.
    for argv in (["export", cid, "--format", "json"], ["watch", cid, "--json", "--until-done"]):
        js = subprocess.run(
            [sys.executable, "-m", "tui", "--server", demo_server.base_url, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            timeout=60,
        )
        assert js.returncode == 0, js.stderr
        c1 = sorted(set(re.findall(r"[\x1b\x80-\x9f]", js.stdout)))
        assert not c1, f"raw C1 controls in the JSON output of {argv[0]}: {c1!r}"


# ---------------------------------------------------------------- tool output keeps its SGR colours, nothing else

COLOURED = (
    "PLAINWORD \x1b[31mREDWORD\x1b[0m \x1b[1;32mGREENWORD\x1b[0m "
    "\x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b]8;;http://evil.example/\x07LINKWORD\x1b]8;;\x07 \x1b]0;owned title\x07"
    "\x1b]0;\x1b[31minside-osc\x07 \x1b[2J\x1b[H\x1b[5A \x9b31mc1csi \x9d0;c1title\x9c \x1bP1$q\x1b[31mm\x1b\\dcs "
    "\ue0000\ue001forged \x07bell [bold]markup[/bold] END"
)


def test_sgr_colours_become_styles_and_every_other_sequence_is_removed():
    from tui.app.ansi import ansi_text

    text = ansi_text(COLOURED)
    plain = text.plain
    assert "\x1b" not in plain and not FORBIDDEN.search(plain)
    for gone in ("owned title", "inside-osc", "ZWNobyBwd25lZA", "evil.example", "c1title", "1$q", "\ue000"):
        assert gone not in plain, f"{gone!r} leaked out of an escape sequence"
    for kept in ("PLAINWORD", "REDWORD", "GREENWORD", "LINKWORD", "[bold]markup[/bold]", "END"):
        assert kept in plain
    styles = {plain[s.start : s.end]: s.style for s in text.spans}
    red, green = styles["REDWORD"], styles["GREENWORD"]
    assert not isinstance(red, str) and red.color is not None and red.color.number == 1  # SGR 31: red
    assert not isinstance(green, str) and green.color is not None and green.color.number == 2 and green.bold
    assert not any(getattr(s.style, "link", None) for s in text.spans), "a hyperlink survived"


async def test_tool_output_colours_reach_the_terminal_and_escapes_do_not():
    """A terminal observation holding SGR colours and OSC 52 / OSC 8 / OSC 0: the frame the driver would write
    carries the colours (REDWORD is drawn in another colour than PLAINWORD) and no OSC, DCS or control."""
    from textual.app import App

    from tui.app.widgets.event_log import EventLog
    from tui.protocol import parse_event

    action = parse_event(
        {
            "kind": "ActionEvent",
            "id": "a1",
            "timestamp": "2026-11-26T01:40:01",
            "source": "agent",
            "tool_name": "terminal",
            "tool_call_id": "c1",
            "action": {"command": "printf \x1b]52;c;cHduZWQ=\x07 colours", "kind": "TerminalAction"},
        }
    )
    observation = parse_event(
        {
            "kind": "ObservationEvent",
            "id": "o1",
            "timestamp": "2026-11-26T01:40:02",
            "source": "environment",
            "tool_name": "terminal",
            "tool_call_id": "c1",
            "action_id": "a1",
            "observation": {"content": [{"type": "text", "text": COLOURED}], "exit_code": 0},
        }
    )

    class LogApp(App):
        def compose(self):
            yield EventLog(id="log")

    app = LogApp()
    async with app.run_test(size=(160, 20)) as pilot:
        await app.query_one(EventLog).show([action, observation])
        await pilot.pause(0.2)
        frame = frame_text(app)
        assert_terminal_safe(frame, "tool output in the event log")
        assert "owned title" not in frame and "inside-osc" not in frame and "cHduZWQ" not in frame
        plain = screen_plain(app)
        for kept in ("PLAINWORD", "REDWORD", "GREENWORD", "LINKWORD", "[bold]markup[/bold]"):
            assert kept in plain

        def colour_before(word: str) -> str:
            match = re.search(r"((?:\x1b\[[0-9;:]*m)+)" + word, frame)
            assert match, f"no style before {word}"
            return match.group(1)

        assert colour_before("REDWORD") != colour_before("PLAINWORD"), "the SGR colour of the output was lost"
