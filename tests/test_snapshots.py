"""Snapshot tests of the main screens at 80x24 and 160x48, on fixed data with a frozen clock (no server).

Update after an intended change: `pytest tests/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.fixed import build_app

SIZES = [(80, 24), (160, 48)]


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main(snap_compare, size):
    assert snap_compare(build_app("main"), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_confirmation(snap_compare, size):
    assert snap_compare(build_app("confirmation"), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_fleet_view(snap_compare, size):
    assert snap_compare(build_app("empty"), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("f1")
        await _settle(pilot)

    assert snap_compare(build_app("main"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_conversation_dialog(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("ctrl+n")
        await _settle(pilot)
        from textual.widgets import Input, TextArea

        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        for widget in pilot.app.screen.query(TextArea):
            widget.cursor_blink = False
        # The default working directory is the current one: make it fixed.
        pilot.app.screen.query_one("#working-dir", Input).value = "/srv/app"
        await _settle(pilot)

    assert snap_compare(build_app("main"), terminal_size=size, run_before=run_before)
