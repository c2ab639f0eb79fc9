"""The queue's own keys: a moved item keeps the highlight (so `J J` moves it two places), and editing starts with
the cursor at the end and nothing selected (the first key typed adds to the message, never replaces it)."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.protocol import ExecutionStatus
from tui.session import ChangeKind

SIZE = (120, 36)


@pytest.fixture
def slow_server():
    from tests.fixtures_demo import FAST_KNOBS
    from tui.demo import DemoServer

    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0}) as srv:
        yield srv


async def held_queue(pilot, app, texts):
    """An open conversation whose queue holds `texts` and is not being delivered (interrupted)."""
    await create(pilot, app)
    app.view.input.load_text("[slow] busy")
    app.view.input.focus()
    await pilot.press("enter")
    session = app.session
    await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING, what="running")
    await session.interrupt()
    await wait_for(pilot, lambda: session.status is ExecutionStatus.PAUSED, what="paused")
    for text in texts:
        session.outbox.add(text)
    session._emit(ChangeKind.OUTBOX)
    await wait_for(pilot, lambda: len(app.view.queue.items) == len(texts), what="queue shown")
    return session


def order(session) -> list[str]:
    return [item.text for item in session.outbox.items]


def highlighted_text(queue) -> str:
    option = queue.highlighted_option
    return next(item.text for item in queue.items if item.id == option.id)


async def test_moving_keeps_the_selection_on_the_moved_item(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        session = await held_queue(pilot, app, ["a", "b", "c", "d"])
        queue = app.view.queue
        queue.focus()
        queue.highlighted = 0
        await pilot.press("J", "J")  # one burst
        await wait_for(pilot, lambda: order(session) == ["b", "c", "a", "d"], what="moved two places down")
        await pilot.pause()
        assert highlighted_text(queue) == "a"
        await pilot.press("K")
        await wait_for(pilot, lambda: order(session) == ["b", "a", "c", "d"], what="moved back up one")
        await pilot.pause()
        assert highlighted_text(queue) == "a"
        assert [item.text for item in queue.items] == ["b", "a", "c", "d"], "the list shows the session's order"


async def test_edit_opens_with_the_cursor_at_the_end_and_nothing_selected(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        session = await held_queue(pilot, app, ["fix the tests"])
        app.view.queue.focus()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        box = app.screen.query_one(Input)
        assert box.value == "fix the tests"
        assert box.cursor_position == len("fix the tests")
        assert box.selection.is_empty
        await pilot.press("space", "n", "o", "w", "enter")
        await wait_for(pilot, lambda: order(session) == ["fix the tests now"], what="edited, not replaced")
