"""Snapshot tests of a reply streaming mid-markdown (a heading, a list, a code block being written): the whole
reply right after the newest event, rendered as markdown, code cropped with a mark, no empty rows under it.

Update after an intended change: `pytest tests/test_snapshots_streaming.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.fixed import build_app

SIZES = [(80, 24), (120, 36)]


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reply_streaming_mid_markdown(snap_compare, size):
    assert snap_compare(build_app("streaming"), terminal_size=size, run_before=_settle)
