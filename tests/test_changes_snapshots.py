"""Snapshots of the Changes view at 80x24 and 160x48 (fixed files and diffs, frozen clock, no server), and of
the view on an older server that has no git routes.

Update after an intended change: `pytest tests/test_changes_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.snapshot_apps.fixed import build_app
from tui.protocol import ServerInfo
from tui.session.review import FileChange, diff_lines

SIZES = [(80, 24), (160, 48)]
LOGIN_BEFORE = "def login(user, password):\n    if not user:\n        return False\n    return check(user, password)\n"
LOGIN_AFTER = (
    "def login(user: str, password: str) -> bool:\n    if not user or not password:\n        return False\n"
    "    return check(user, password)\n"
)


def _app(version: str = "1.58.2"):
    app = build_app("main")
    capabilities = ["conversation_runtime_routes_v1"] if version >= "1.58" else []

    async def server_info(server):
        return ServerInfo(version=version, capabilities=capabilities)

    async def changes(server, cid, working_dir):
        return [
            FileChange("src/auth/login.py", "UPDATED", diff_lines(LOGIN_BEFORE, LOGIN_AFTER)),
            FileChange(
                "CHANGELOG.md", "UPDATED", diff_lines("# Changes\n", "# Changes\n\n- login checks the password\n")
            ),
            FileChange(
                "tests/test_login.py",
                "ADDED",
                diff_lines("", "def test_empty_password():\n    assert not login('a', '')\n"),
            ),
        ]

    app.fleet.server_info = server_info
    app.fleet.changes = changes
    return app


async def _open(pilot) -> None:
    await pilot.pause()
    await pilot.press("f5")
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_changes_view(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_open)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_changes_view_on_an_older_server(snap_compare, size):
    assert snap_compare(_app("1.43.1"), terminal_size=size, run_before=_open)
