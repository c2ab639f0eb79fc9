"""The Changes view against the embedded 1.58 server: F5 shows the files the agent changed with +/- counts and
the diff, reloads by itself when a turn ends, and a comment on a diff line becomes a message to the agent quoting
the file and the line, queued while the agent is busy. On a 1.43 server the view says why it is empty."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList, Static

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app.screens.changes import ChangesScreen
from tui.app.screens.dialogs import PromptScreen
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.session.review import LineKind

SIZE = (120, 36)


@pytest.fixture
def slow_server():
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0}) as srv:
        yield srv


def _text(widget) -> str:
    return str(widget.render())


async def test_changes_reload_when_the_turn_ends_and_a_comment_is_queued(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        await pilot.press("f5")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ChangesScreen) and app.screen, what="view")
        await wait_for(pilot, lambda: "No changes" in _text(screen.query_one("#changes-note", Static)), what="none")

        async with AgentClient(slow_server.base_url) as client:  # the agent edits while the view is open
            await client.send_message(cid, "[edit] create hello.py")
        await wait_for(pilot, lambda: [f.path for f in screen.files] == ["hello.py"], what="reloaded at turn end")
        files = screen.query_one("#changes-files", OptionList)
        change = screen.files[0]
        assert change.status == "ADDED" and change.added > 0 and change.removed == 0
        assert f"+{change.added}" in str(files.get_option_at_index(0).prompt)
        diff = screen.query_one("#changes-diff", OptionList)
        await wait_for(pilot, lambda: diff.option_count == len(change.lines), what="the diff shown")

        # The agent is busy with something else: the comment waits in the queue.
        session = app.session
        await session.submit("[slow] think about it")
        await wait_for(pilot, lambda: session.status.value == "running", what="busy")
        target = next(n for n, line in enumerate(change.lines) if line.kind is LineKind.ADDED)
        diff.focus()
        diff.highlighted = target
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="asks for the comment")
        app.screen.query_one(Input).value = "use a constant here"
        await pilot.press("enter")
        await wait_for(pilot, lambda: session.outbox.items, what="queued")
        queued = session.outbox.items[-1].text
        line = change.lines[target]
        assert queued.startswith(f"About hello.py:{line.new}:") and f"> {line.text}" in queued
        assert queued.endswith("use a constant here")
        assert isinstance(app.screen, ChangesScreen), "back in the Changes view"


async def test_an_older_server_says_why_there_are_no_changes(demo_server_143, tmp_path):
    app = make_app(demo_server_143.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        await pilot.press("f5")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, ChangesScreen) and app.screen, what="view")
        await wait_for(pilot, lambda: "no git routes" in _text(screen.query_one("#changes-note", Static)), what="why")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChangesScreen), what="closed")
