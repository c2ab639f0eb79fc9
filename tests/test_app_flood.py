"""Pilot tests: a server floods the open conversation with events (the demo's `flood N`, as fast as it can).

The session holds a bounded tail (older events go back to the server), the log holds a bounded number of blocks
and shows the newest, says "catching up: N events behind" while the flood outpaces it and stops saying it when the
flood is over, and every event is still reachable afterwards: the user pages back to the very first one.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.harness import create, make_app, visible, wait_for
from tui.app.widgets import event_log
from tui.app.widgets.event_log import HELD, HELD_SLACK, EventItem
from tui.client import AgentClient
from tui.session import conversation

SIZE = (120, 36)
FLOOD = 6_000  # pairs of terminal action/observation: `echo 0` … `echo 5998`


def _catching_up_log(monkeypatch) -> list[int]:
    """Every value the log's "catching up" line took, in order."""
    said: list[int] = []
    original = event_log.EventLog._set_catching_up

    def record(self, behind: int) -> None:
        if not said or said[-1] != behind:
            said.append(behind)
        original(self, behind)

    monkeypatch.setattr(event_log.EventLog, "_set_catching_up", record)
    return said


def _tool_item(log, command: str) -> EventItem | None:
    return next((i for i in log.items if isinstance(i, EventItem) and f"\n{command}\n" in i.plain), None)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("server", ["demo_server", "demo_server_143"])  # the session socket; the events socket
async def test_a_flood_is_held_bounded_shows_the_newest_and_pages_back_to_the_first(
    server, tmp_path, monkeypatch, request
):
    demo_server = request.getfixturevalue(server)
    said = _catching_up_log(monkeypatch)
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app, "[text] before the flood")
        session = app.session
        log = app.view.log_widget
        await wait_for(pilot, lambda: "before the flood" in log.plain_text(), what="the first message shown")
        await wait_for(pilot, lambda: not session.status.is_busy(), what="the first turn over")
        received = session.received

        await session.submit(f"flood {FLOOD}")
        await wait_for(
            pilot,
            lambda: session.received - received >= FLOOD and not session.status.is_busy(),
            timeout=90,
            what="the whole flood received",
        )
        await wait_for(pilot, lambda: log.catching_up == 0 and not log._pending, timeout=10, what="caught up")

        # Bounded: the session and the log hold a tail, not the 6,000 events; older ones are on the server.
        assert len(session.timeline) <= conversation.MAX_HELD + conversation.TRIM_SLACK
        assert session.has_older
        assert len(log.blocks) <= HELD + HELD_SLACK
        # The log shows the newest event, and the line above it offers the older ones.
        newest = _tool_item(log, f"echo {FLOOD - 2}")
        assert newest is not None and visible(log, newest)
        assert log._older.display and "older events" in str(log._older.render())
        # "Catching up" appeared while the flood outpaced the log, and is gone now it is over.
        assert any(n > 0 for n in said), said
        assert said[-1] == 0 and not log._below.has_class("-shown")

        # Every event is still reachable: the very first one, paged back in from the server.
        log.focus()
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: _tool_item(log, "echo 0") is not None, timeout=60, what="echo 0 mounted")
        await wait_for(pilot, lambda: visible(log, _tool_item(log, "echo 0")), what="echo 0 on screen")
        assert "before the flood" in log.plain_text()
        assert not session.has_older
        async with AgentClient(demo_server.base_url) as client:
            on_server = await client.count_events(cid)
        ids = [e.id for e in session.timeline]
        assert len(ids) == len(set(ids)) == on_server  # each once, none missing

        # Back at the newest: the flood's last event, and the tail is bounded again with the next events.
        await pilot.press("end")
        await wait_for(pilot, lambda: _tool_item(log, f"echo {FLOOD - 2}") is not None, what="the newest again")
        await session.submit("[text] after the flood")
        await wait_for(pilot, lambda: "after the flood" in log.plain_text(), what="the next reply")
        await wait_for(
            pilot,
            lambda: len(session.timeline) <= conversation.MAX_HELD + conversation.TRIM_SLACK,
            what="the session's tail bounded again",
        )

        # Read back to the first event again, then open another conversation: the one left behind (still
        # followed) goes back to its bounded tail rather than keeping what was read.
        log.focus()
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: not session.has_older and not log.loading_older, timeout=60, what="all read")
        assert session.keep_older and len(session.timeline) > conversation.MAX_HELD + conversation.TRIM_SLACK
        await create(pilot, app, "[text] another conversation")
        assert app.session is not session
        assert not session.keep_older and len(session.timeline) <= conversation.MAX_HELD
