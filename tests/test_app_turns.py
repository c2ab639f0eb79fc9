"""Pilot tests: sending, queueing, interrupt, pause/resume, confirmation, against the embedded demo server."""

from __future__ import annotations

import pytest

from tests.snapshot_apps.harness import create, log_text, make_app, wait_for
from tui.app.textual_private import crash
from tui.protocol import ExecutionStatus
from tui.session import ChangeKind

SIZE = (120, 36)


@pytest.fixture
def slow_server():
    """The demo server with "slow" turns long enough to queue behind and interrupt (~4 s)."""
    from tests.fixtures_demo import FAST_KNOBS
    from tui.demo import DemoServer

    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0}) as srv:
        yield srv


async def type_and(pilot, text: str, key: str = "enter") -> None:
    pilot.app.view.input.focus()
    pilot.app.view.input.load_text(text)
    await pilot.press(key)


async def start_busy_turn(pilot, app, text: str):
    """Send a slow message and wait until the agent is running it; returns the session."""
    await type_and(pilot, text)
    session = app.session
    await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING, what="running")
    return session


async def test_send_shows_reply(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        await type_and(pilot, "[text] hello there")
        await wait_for(pilot, lambda: "hello there" in log_text(app), what="user message in the log")
        await wait_for(pilot, lambda: app.session.status is ExecutionStatus.FINISHED, what="finished")
        assert app.view.input.text == ""
        assert "hello there" in app.view.input.sent_history[-1]
        await wait_for(pilot, lambda: "finished" in app.view.status_bar.plain, what="status bar")


async def test_queue_while_busy_then_delivered(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        session = await start_busy_turn(pilot, app, "[slow] take your time")
        await type_and(pilot, "[text] queued one")
        await wait_for(pilot, lambda: len(app.view.queue.items) == 1, what="queued item shown")
        assert app.view.queue.has_class("-active")
        assert "queue 1" in app.view.status_bar.plain
        row = app.fleet_list.row("demo", session.id)
        await wait_for(pilot, lambda: app.fleet_list.row("demo", session.id).queued == 1, what="row queue count")
        # After the slow turn the queued message goes out by itself.
        await wait_for(pilot, lambda: "queued one" in log_text(app), timeout=15, what="queued message sent")
        await wait_for(pilot, lambda: not app.view.queue.items, what="queue empty")
        assert row is not None


async def test_queue_edit_move_remove(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        session = await start_busy_turn(pilot, app, "[slow] busy")
        await app.session.interrupt()  # hold the queue so nothing is delivered while we edit it
        await wait_for(pilot, lambda: session.status is ExecutionStatus.PAUSED, what="paused")
        for text in ("first", "second", "third"):
            session.outbox.add(text)
        session._emit(ChangeKind.OUTBOX)
        await wait_for(pilot, lambda: len(app.view.queue.items) == 3, what="queue shown")
        queue = app.view.queue
        queue.focus()
        queue.highlighted = 2
        await pilot.press("K")  # move "third" up
        await wait_for(
            pilot, lambda: [i.text for i in session.outbox.items] == ["first", "third", "second"], what="moved"
        )
        await pilot.press("d")
        await wait_for(pilot, lambda: len(session.outbox.items) == 2, what="removed")
        queue.highlighted = 0
        await pilot.press("e")
        await pilot.pause()
        from textual.widgets import Input

        box = app.screen.query_one(Input)
        box.value = "first, edited"
        await pilot.press("enter")
        await wait_for(pilot, lambda: session.outbox.items[0].text == "first, edited", what="edited")
        await wait_for(pilot, lambda: "first, edited" in str(queue.get_option_at_index(0).prompt), what="shown")


async def test_interrupt_then_send(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        session = await start_busy_turn(pilot, app, "[slow] long reply")
        assert app.applies("stop_and_send")
        await type_and(pilot, "[text] instead do this", key="ctrl+s")
        await wait_for(
            pilot,
            lambda: "interrupting" in app.view.status_bar.plain or session.status is not ExecutionStatus.RUNNING,
            what="interrupting shown",
        )
        await wait_for(pilot, lambda: "instead do this" in log_text(app), timeout=15, what="sent after interrupt")
        await wait_for(pilot, lambda: session.status is ExecutionStatus.FINISHED, timeout=15, what="finished")
        assert "interrupted" in log_text(app)


async def test_interrupt_only_keeps_queue(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        session = await start_busy_turn(pilot, app, "[slow] long reply")
        await type_and(pilot, "[text] waiting in line")
        await wait_for(pilot, lambda: len(session.outbox.items) == 1, what="queued")
        await pilot.press("escape")
        await wait_for(
            pilot, lambda: session.turn.interrupting or session.status is ExecutionStatus.PAUSED, what="interrupting"
        )
        await wait_for(pilot, lambda: session.status is ExecutionStatus.PAUSED, timeout=20, what="paused")
        await pilot.pause(0.3)
        assert [i.text for i in session.outbox.items] == ["[text] waiting in line"]
        assert "waiting in line" not in log_text(app)
        assert "interrupted" in log_text(app)
        assert app.applies("resume")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "waiting in line" in log_text(app), timeout=20, what="queue resumed")


async def test_pause_and_resume(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        await type_and(pilot, "[slowbash] run it slowly")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING, what="running")
        assert app.applies("pause") and not app.applies("resume")
        await pilot.press("ctrl+t")
        await wait_for(
            pilot,
            lambda: "pausing after this step" in app.view.status_bar.plain or session.status is ExecutionStatus.PAUSED,
            what="pausing shown",
        )
        await wait_for(pilot, lambda: session.status is ExecutionStatus.PAUSED, timeout=15, what="paused")
        await wait_for(pilot, lambda: app.applies("resume"), what="resume offered")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: session.status in (ExecutionStatus.RUNNING, ExecutionStatus.FINISHED),
            timeout=20,
            what="running again",
        )
        await wait_for(pilot, lambda: session.status is ExecutionStatus.FINISHED, timeout=15, what="finished")


async def test_approve(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app, confirm=True)
        await type_and(pilot, "confirm: clean the build directory")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION, what="waiting")
        await wait_for(pilot, lambda: app.view.confirmation.has_class("-active"), what="panel shown")
        assert app.view.confirmation.actions, "pending actions listed"
        assert app.applies("approve") and app.applies("reject")
        await pilot.press("ctrl+y")
        await wait_for(
            pilot,
            lambda: session.status is not ExecutionStatus.WAITING_FOR_CONFIRMATION,
            timeout=20,
            what="left waiting",
        )
        await wait_for(pilot, lambda: not app.view.confirmation.has_class("-active"), what="panel hidden")


async def test_reject_with_reason(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app, confirm=True)
        await type_and(pilot, "confirm: clean the build directory")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION, what="waiting")
        await pilot.press("ctrl+f")
        await pilot.pause()
        from textual.widgets import Input

        app.screen.query_one(Input).value = "not today"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "not today" in log_text(app), timeout=20, what="rejection in the log")


async def test_quit_while_streaming_is_clean(tmp_path):
    """Quitting while a conversation streams (changes still queued for the view, the list and the footer) ends
    cleanly: no ScreenStackError / NoMatches from handlers that run while the app tears down."""
    from tests.fixtures_demo import FAST_KNOBS
    from tui.client import AgentClient
    from tui.demo import DemoServer
    from tui.protocol import StartConversationRequest

    with DemoServer(**{**FAST_KNOBS, "token_rate": 100.0}) as srv:
        async with AgentClient(srv.base_url) as client:
            request = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/quit")
            request.agent["llm"]["stream"] = True
            cid = (await client.create_conversation(request)).id
        app = make_app(srv.base_url, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, what="listed")
            await app.open_conversation("demo", cid)
            session = app.session
            await wait_for(pilot, lambda: str(session.connection.state.value) == "live", what="live")
            await type_and(pilot, "[markdown] a long reply please")
            await wait_for(pilot, lambda: app.view.log_widget.token_stream.text, timeout=15, what="streaming")
            await pilot.press("ctrl+q")
        assert app.return_code in (0, None)
        assert crash(app) is None
