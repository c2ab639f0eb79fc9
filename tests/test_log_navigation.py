"""Pilot tests: moving through a long conversation in the event log, as a person does it with the keyboard.

`/` finds text in the blocks held and, through the server's event search, in events not loaded yet (paged in);
n / N go to the next older / newer match; ctrl+home goes to the very first event (loading what it must), end to
the newest; sending a message while scrolled up brings the view back to it; new events arriving below while the
user reads older ones show a "new below" marker.
"""

from __future__ import annotations

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import create, make_app, visible, wait_for
from tui.demo import DemoServer

SIZE = (120, 36)
FIRST = "Seeded request #0: please check item 0."


async def _open_long(pilot, app):
    await wait_for(pilot, lambda: app.fleet_list.highlighted is not None, what="conversation listed")
    await pilot.press("enter")
    log = app.view.log_widget
    await wait_for(pilot, lambda: "Seeded request #749" in log.plain_text(), what="the tail shown")
    log.focus()
    await pilot.pause()
    return log


async def _find(pilot, text: str) -> None:
    await pilot.press("slash")
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "SearchPrompt", what="the search prompt")
    await pilot.press(*text, "enter")


def _selected_shows(log, text: str) -> bool:
    item = log._selected
    return item is not None and text in item.plain and visible(log, item)


async def test_find_in_the_loaded_blocks_with_next_and_previous(long_server, tmp_path):
    app = make_app(long_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        log = await _open_long(pilot, app)
        held = len(app.session.timeline)
        await _find(pilot, "request #74")  # #74 and #740 to #749: eleven user messages, all but #74 loaded
        await wait_for(pilot, lambda: _selected_shows(log, "request #749"), what="the newest match selected")
        first = log.current_match
        await pilot.press("n")
        await wait_for(pilot, lambda: _selected_shows(log, "request #748"), what="n: the next older match")
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: _selected_shows(log, "request #746"), what="n n: two further up")
        await pilot.press("N")
        await wait_for(pilot, lambda: _selected_shows(log, "request #747"), what="N: back down one")
        assert log.current_match != first
        # The match far up (#74) was on the server only: the search paged it in.
        assert len(app.session.timeline) > held
        assert any("request #74:" in b.event.to_wire().__repr__() for b in log.blocks)


async def test_find_pages_in_an_event_only_the_server_holds(long_server, tmp_path):
    app = make_app(long_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        log = await _open_long(pilot, app)
        assert app.session.has_older and "check item 12." not in log.plain_text()
        await _find(pilot, "check item 12.")
        await wait_for(pilot, lambda: _selected_shows(log, "check item 12."), 30, what="the old match on screen")
        assert log.mounted_count <= 350


async def test_jump_to_the_first_event_and_back_to_the_newest(long_server, tmp_path):
    app = make_app(long_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        log = await _open_long(pilot, app)
        await pilot.press("ctrl+home")

        def first_on_screen() -> bool:
            item = next((i for i in log._event_items() if i.plain.endswith(FIRST)), None)
            return item is not None and visible(log, item)

        await wait_for(pilot, first_on_screen, 40, what="the first event on screen")
        assert not app.session.has_older and log.mounted_count <= 350
        await pilot.press("end")

        def newest_on_screen() -> bool:
            item = next((i for i in log._event_items() if "Seeded request #749" in i.plain), None)
            return item is not None and visible(log, item) and log.following

        await wait_for(pilot, newest_on_screen, what="the newest event on screen")


async def test_sending_while_scrolled_up_brings_the_message_into_view(long_server, tmp_path):
    app = make_app(long_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        log = await _open_long(pilot, app)

        # As a reader does: home until the view has left the tail (the log anchors late on a loaded machine).
        def away() -> bool:
            return log.scroll_y + 1 < log.max_scroll_y

        for _ in range(50):
            await pilot.press("home")
            await pilot.pause(0.1)
            if away():
                break
        assert away(), "scrolled away from the tail"
        app.view.input.focus()
        await pilot.press(*"[text] a fresh question", "enter")

        def sent_on_screen() -> bool:
            item = next((i for i in log._event_items() if "a fresh question" in i.plain), None)
            return item is not None and visible(log, item)

        await wait_for(pilot, sent_on_screen, what="the sent message on screen")
        assert log.following


@pytest.fixture
def slow_server():
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 6.0}) as srv:
        yield srv


async def test_new_below_marker_while_reading_older_events(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=(100, 24)) as pilot:
        await create(pilot, app)
        session = app.session
        log = app.view.log_widget
        for n in range(6):  # enough for the log to be taller than the view
            await session.submit(f"[text] warm-up {n}")
            await wait_for(pilot, lambda n=n: f"warm-up {n}" in log.plain_text(), what="warm-up shown")
            await session.wait_until(lambda: not session.turn.active, 20)
        await session.submit("[slowbash] something slow to watch")
        await wait_for(pilot, lambda: "running" in log.plain_text(), what="the slow command running")
        log.focus()
        await pilot.press("home", "up", "up")
        await wait_for(pilot, lambda: not log.following, what="scrolled up")
        await wait_for(pilot, lambda: log.new_below > 0, 20, what="new events counted below")
        marker = log.query_one("#new-below")
        assert marker.display and "new below" in str(marker.render())
        await wait_for(
            pilot,
            lambda: marker.region.height == 1 and log.region.contains_region(marker.region),
            what="the marker on screen, inside the log",
        )
        await pilot.press("end")
        await wait_for(pilot, lambda: log.new_below == 0 and not marker.display, what="marker gone at the end")
