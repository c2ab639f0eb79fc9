"""A second window on the same state directory says, at once, that it is read-only and why."""

from __future__ import annotations

from tests.snapshot_apps.harness import make_app, wait_for
from tui.app.textual_private import notifications
from tui.session.state_lock import lock_state_dir


async def test_a_second_window_says_it_is_read_only(demo_server, tmp_path):
    first = lock_state_dir(tmp_path)  # the first window holds the state directory
    assert first.problem is None
    try:
        app = make_app(demo_server.base_url, tmp_path)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await wait_for(
                pilot,
                lambda: any("read-only" in str(n.message) for n in notifications(app)),
                what="the read-only warning",
            )
            told = [n for n in notifications(app) if "read-only" in str(n.message)]
            assert told[0].severity == "warning" and "another openhands-tui" in str(told[0].message)
    finally:
        first.release()
