"""Pilot tests: create, delete, switching without stopping, background notifications, reconnect, literal text."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import create, log_text, make_app, wait_for
from tui.app.textual_private import notifications
from tui.demo import DemoServer
from tui.protocol import ExecutionStatus

SIZE = (120, 36)


@pytest.fixture
def slow_server():
    """The demo server with "slow" turns long enough to queue behind and interrupt (~4 s)."""
    from tests.fixtures_demo import FAST_KNOBS
    from tui.demo import DemoServer

    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0}) as srv:
        yield srv


async def test_create_from_dialog(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.fleet.entry("demo").state.value == "ok", what="server ok")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.query("#model"), what="dialog")
        app.screen.query_one("#working-dir", Input).value = "/workspace/from-dialog"
        app.screen.query_one("#first-message", TextArea).load_text("[text] hi from the dialog")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.current is not None, what="opened")
        await wait_for(pilot, lambda: "hi from the dialog" in log_text(app), timeout=20, what="first message")
        cid = app.current[1]
        await wait_for(pilot, lambda: app.fleet_list.row("demo", cid) is not None, what="row in the list")
        assert app.session.info is None or app.session.info.working_dir in ("", "/workspace/from-dialog")


async def test_delete_with_confirmation(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        await wait_for(pilot, lambda: app.fleet_list.row("demo", cid) is not None, what="row")
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen.query("#yes"), what="confirm dialog")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.fleet_list.row("demo", cid) is None, timeout=20, what="row gone")
        assert app.current is None
        assert cid not in app.fleet.entry("demo").conversations
        assert app.view.has_class("-empty")


async def test_delete_cancelled_keeps_it(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.screen.query("#yes"), what="confirm dialog")
        await pilot.press("n")
        await pilot.pause(0.3)
        assert app.current == ("demo", cid)


async def test_switching_does_not_stop_running_conversation(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        first = await create(pilot, app)
        app.view.input.load_text("[slow] keep going")
        await pilot.press("enter")
        s1 = app.session
        await wait_for(pilot, lambda: s1.status is ExecutionStatus.RUNNING, what="running")
        second = await create(pilot, app)
        assert app.current == ("demo", second)
        # The first conversation is still followed by its worker and finishes in the background.
        assert ("demo", first) in app.watched
        await wait_for(pilot, lambda: s1.status is ExecutionStatus.FINISHED, timeout=15, what="background finish")
        assert ("demo", first) in app.watchlist.attention
        row = app.fleet_list.row("demo", first)
        assert row is not None and row.attention and row.status is ExecutionStatus.FINISHED
        # Opening it again shows everything, and clears the badge.
        await app.open_conversation("demo", first)
        await wait_for(pilot, lambda: "keep going" in log_text(app), what="history shown")
        assert ("demo", first) not in app.watchlist.attention


async def test_background_notification(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        first = await create(pilot, app)
        app.view.input.load_text("[slow] background work")
        await pilot.press("enter")
        s1 = app.session
        await wait_for(pilot, lambda: s1.status is ExecutionStatus.RUNNING, what="running")
        await create(pilot, app)
        await wait_for(
            pilot,
            lambda: (("demo", first), ExecutionStatus.FINISHED) in app.watchlist.notified,
            timeout=15,
            what="notified",
        )
        messages = [n.message for n in notifications(app)]
        assert any("finished" in m for m in messages), messages


async def test_reconnect_shown_in_status_bar(tmp_path):
    store = tmp_path / "server"
    server = DemoServer(persist_dir=store, **FAST_KNOBS).start()
    port = server.port
    app = make_app(server.base_url, tmp_path)
    restarted = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await create(pilot, app)
            await wait_for(pilot, lambda: "live" in app.view.status_bar.plain, what="live")
            server.stop()
            await wait_for(
                pilot, lambda: "reconnecting" in app.view.status_bar.plain, timeout=15, what="reconnecting shown"
            )
            assert "live" not in app.view.status_bar.plain
            restarted = DemoServer(port=port, persist_dir=store, **FAST_KNOBS).start()
            await wait_for(pilot, lambda: "live" in app.view.status_bar.plain, timeout=40, what="live again")
    finally:
        server.stop()
        if restarted is not None:
            restarted.stop()


async def test_server_text_is_literal(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        nasty = "[text] [bold red]not bold[/] \x1b[31mred?\x1b[0m \x1b]0;title\x07done"
        app.view.input.load_text(nasty)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "done" in log_text(app), what="message shown")
        text = log_text(app)
        assert "[bold red]not bold[/]" in text
        assert "\x1b" not in text and "red?" in text and "title" not in text.split("red?")[1].split("done")[0]
        await wait_for(pilot, lambda: app.session.status is ExecutionStatus.FINISHED, what="finished")
        # What is drawn shows the brackets too (markup was not interpreted, escapes are gone).
        from rich.console import Console

        from tui.app.widgets.event_log import EventItem

        items = [i for i in app.view.log_widget.items if isinstance(i, EventItem) and "not bold" in i.copy_text]
        console = Console(width=100, record=True, file=open("/dev/null", "w"))
        console.print(items[0]._renderable())
        drawn = console.export_text()
        assert "[bold red]not bold[/]" in drawn and "\x1b" not in drawn
