"""Snapshot tests of each block kind of the conversation view at 80x24 and 160x48, fed from recorded events.

Update after an intended change: `pytest tests/test_snapshots_blocks.py --snapshot-update` (and look at each SVG).
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.blocks import BlocksApp
from tui.app.widgets.event_log import EventItem

SIZES = [(80, 24), (160, 48)]
size_ids = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


def _block(app: BlocksApp, kind: str, text: str = "") -> EventItem:
    return next(i for i in app.log_view._event_items() if i.block.kind == kind and text in i.plain)


async def _show_only(pilot, kind: str, text: str = "", expand: bool | None = None) -> None:
    """Select the block (it scrolls into view at the top) and set its fold state, as a user would with enter."""
    app = pilot.app
    await _settle(pilot)
    item = _block(app, kind, text)
    log = app.log_view
    log._select(item)
    if expand is not None and item.expanded != expand:
        item.toggle()
    await pilot.pause()
    log.scroll_to_widget(item, animate=False, top=True)
    await _settle(pilot)


@size_ids
def test_tool_folded(snap_compare, size):
    """A test run with long coloured output starts folded: one line with the command, exit code and duration."""

    async def run_before(pilot) -> None:
        await _settle(pilot)
        item = _block(pilot.app, "tool", "pytest")
        assert not item.expanded and "exit 1" in item.plain

    assert snap_compare(BlocksApp("tool"), terminal_size=size, run_before=run_before)


@size_ids
def test_tool_unfolded(snap_compare, size):
    """Enter unfolds it: the command highlighted as shell, the output in its own colours (SGR kept, OSC gone)."""

    async def run_before(pilot) -> None:
        await _show_only(pilot, "tool", "pytest", expand=True)

    assert snap_compare(BlocksApp("tool"), terminal_size=size, run_before=run_before)


@size_ids
def test_diff(snap_compare, size):
    async def run_before(pilot) -> None:
        await _show_only(pilot, "tool", "edit ", expand=True)

    assert snap_compare(BlocksApp("diff"), terminal_size=size, run_before=run_before)


@size_ids
def test_created_file(snap_compare, size):
    async def run_before(pilot) -> None:
        await _show_only(pilot, "tool", "create ", expand=True)

    assert snap_compare(BlocksApp("created"), terminal_size=size, run_before=run_before)


@size_ids
def test_plan(snap_compare, size):
    async def run_before(pilot) -> None:
        await _show_only(pilot, "plan")

    assert snap_compare(BlocksApp("plan"), terminal_size=size, run_before=run_before)


@size_ids
def test_reasoning(snap_compare, size):
    async def run_before(pilot) -> None:
        await _show_only(pilot, "reasoning", expand=False)

    assert snap_compare(BlocksApp("reasoning"), terminal_size=size, run_before=run_before)


@size_ids
def test_turn_footer(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        footer = _block(pilot.app, "footer")
        assert "3 tool calls" in footer.plain and "finished" in footer.plain

    assert snap_compare(BlocksApp("footer"), terminal_size=size, run_before=run_before)


@size_ids
def test_merged_errors(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        errors = [i for i in pilot.app.log_view._event_items() if i.block.kind == "error"]
        assert len(errors) == 1 and errors[0].block.count == 3

    assert snap_compare(BlocksApp("errors"), terminal_size=size, run_before=run_before)


@size_ids
def test_interrupted_by_you(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        text = pilot.app.log_view.plain_text()
        assert "interrupted by you" in text and "agent error" not in text

    assert snap_compare(BlocksApp("interrupted"), terminal_size=size, run_before=run_before)
