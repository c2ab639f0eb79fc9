"""Pilot tests: a long history on the server opens at its tail and pages older events in as the user scrolls up."""

from __future__ import annotations

import time

from tests.snapshot_apps.harness import make_app, visible, wait_for
from tui.app.widgets.event_log import MAX_MOUNTED, EventItem

SIZE = (120, 36)
FIRST = "Seeded request #0: please check item 0."


async def test_long_history_pages_in_from_the_server(long_server, tmp_path):
    app = make_app(long_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.fleet_list.highlighted is not None, what="conversation listed")
        started = time.monotonic()
        await pilot.press("enter")  # the list has focus at start-up: enter opens the highlighted one
        log = app.view.log_widget
        await wait_for(pilot, lambda: "Seeded request #749" in log.plain_text(), what="the tail shown")
        assert time.monotonic() - started < 5
        session = app.session
        assert session.has_older and len(session.timeline) <= 400
        # The mark above the tail follows the session's page answer: it may land a frame after the tail.
        await wait_for(
            pilot, lambda: "older events" in str(log._older.render()) and log._older.display, what="older mark"
        )
        assert FIRST not in log.plain_text()

        log.focus()
        max_mounted = 0
        first_item = None
        saw_server_line = False
        deadline = time.monotonic() + 40
        while first_item is None:
            assert time.monotonic() < deadline, f"older events never reached the start ({len(session.timeline)})"
            await pilot.press("home")
            await wait_for(pilot, lambda: not log.loading_older, what="older page")
            await pilot.pause(0.02)
            max_mounted = max(max_mounted, log.mounted_count)
            if log._first == 0 and session.has_older:
                saw_server_line |= "on the server" in str(log._older.render())
            first_item = next((i for i in log.items if isinstance(i, EventItem) and i.copy_text.endswith(FIRST)), None)
        assert not session.has_older and len(session.timeline) >= 3000
        await pilot.press("home")
        await wait_for(pilot, lambda: visible(log, first_item), what="the first event on screen")
        assert max_mounted <= MAX_MOUNTED < 600, max_mounted
        assert saw_server_line
        assert "older events" not in str(log._older.render()) or not log._older.display

        # Back to the newest: end jumps to the tail and follows it again.
        await pilot.press("end")
        await wait_for(pilot, lambda: "Seeded request #749" in log.plain_text(), what="tail again")
        assert log.mounted_count <= MAX_MOUNTED
