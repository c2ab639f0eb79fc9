"""Notifications and the clipboard travel by terminal escape, so they reach the user over SSH and through tmux:
OSC 9 and OSC 777 for a background conversation that needs the user (never for the one on screen), OSC 52 for
copy, each also in tmux's passthrough form when TMUX is set. Only sanitised text goes into a sequence."""

from __future__ import annotations

import base64

import pytest

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app import terminal_escapes
from tui.protocol import ExecutionStatus

SIZE = (120, 36)


@pytest.fixture
def slow_server():
    from tests.fixtures_demo import FAST_KNOBS
    from tui.demo import DemoServer

    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 1.5}) as srv:
        yield srv


def capture(app) -> list[str]:
    """Everything the app writes to its terminal driver from now on."""
    written: list[str] = []
    driver = app._driver
    original = driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    driver.write = write
    return written


def test_server_text_cannot_break_out_of_a_notification():
    out = terminal_escapes.desktop_notification("srv", "evil\x1b]52;c;AAAA\x07title; more\x9b2J", tmux=False)
    assert out.count("\x1b") == 2 and out.count("\x07") == 2, "exactly our two sequences, nothing smuggled"
    assert "]52" not in out and "\x9b" not in out
    assert out.startswith("\x1b]9;srv: ") and "\x1b]777;notify;srv;" in out
    assert "title, more" in out, "a ; would split OSC 777's fields"


def test_tmux_passthrough_doubles_every_escape():
    out = terminal_escapes.desktop_notification("srv", "done", tmux=True)
    assert "\x1bPtmux;\x1b\x1b]9;srv: done\x07\x1b\\" in out
    assert "\x1bPtmux;\x1b\x1b]777;notify;srv;done\x07\x1b\\" in out
    assert out.startswith("\x1b]9;srv: done\x07"), "the plain form first"


async def test_a_background_conversation_notifies_by_escape_and_the_open_one_does_not(
    slow_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        written = capture(app)
        first = await create(pilot, app)
        app.view.input.load_text("[slow] background work")
        await pilot.press("enter")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING, what="running")
        second = await create(pilot, app)
        await wait_for(pilot, lambda: any("\x1b]9;" in w for w in written), timeout=20, what="an OSC 9")
        text = "".join(written)
        title = app.watchlist.title(("demo", first))  # the server's title, given to it after the first message
        assert f"\x1b]9;openhands-tui: demo: {title}: finished\x07" in text
        assert "\x1b]777;notify;openhands-tui: demo;" in text
        assert "\x1bPtmux;\x1b\x1b]9;" in text, "also through tmux"
        # The conversation on screen finishing says nothing by escape.
        written.clear()
        app.view.input.load_text("[text] quick")
        app.view.input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.status is ExecutionStatus.FINISHED, what="finished on screen")
        await pilot.pause(0.3)
        assert app.current == ("demo", second)
        assert not any("\x1b]9;" in w for w in written)


async def test_copy_sends_osc52_also_through_tmux(tmp_path, monkeypatch, demo_server):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        written = capture(app)
        app.copy_to_clipboard("héllo")
        encoded = base64.b64encode("héllo".encode()).decode()
        text = "".join(written)
        assert f"\x1b]52;c;{encoded}\x07" in text
        assert f"\x1bPtmux;\x1b\x1b]52;c;{encoded}\x07\x1b\\" in text
