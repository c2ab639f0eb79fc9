"""Snapshots of the attention queue at 80x24 and 160x48, on the fixed fleet (a waiting, a failed, a stuck and a
finished-unseen conversation) with a frozen clock.

Update after an intended change: `pytest tests/test_attention_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.fixed import build_app

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_attention_queue(snap_compare, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(build_app("empty"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_approve_all_question(snap_compare, size):
    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause(0.2)
        await pilot.press("A")
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(build_app("empty"), terminal_size=size, run_before=run_before)
