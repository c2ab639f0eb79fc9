"""Snapshots of child conversations at 80x24 and 160x48: the list's tree (children under their parent, indented,
the parent's summary, a fork marked) and the dialog that starts a child.

Update after an intended change: `pytest tests/test_children_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.fixed import build_app, info

SIZES = [(80, 24), (160, 48)]


def _app_with_children():
    app = build_app("main")
    work = app.fleet.entry("work").conversations
    kids = [
        info("k-run", "Child: update the docs", "running", 30).model_copy(update={"parent_conversation_id": "c-main"}),
        info("k-wait", "Child: clean the cache", "waiting_for_confirmation", 40).model_copy(
            update={"parent_conversation_id": "c-main"}
        ),
        info("k-err", "Child: bump deps", "error", 50).model_copy(update={"parent_conversation_id": "c-main"}),
        info("f-1", "Fork of the parser work", "idle", 70).model_copy(
            update={"forked_from_conversation_id": "c-stuck"}
        ),
    ]
    work.update({k.id: k for k in kids})
    return app


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_child_tree(snap_compare, size):
    assert snap_compare(_app_with_children(), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_child_dialog(snap_compare, size):
    async def run_before(pilot) -> None:
        await _settle(pilot)
        await pilot.press("f4")
        await _settle(pilot)

    assert snap_compare(_app_with_children(), terminal_size=size, run_before=run_before)
