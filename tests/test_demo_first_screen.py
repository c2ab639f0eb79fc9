"""The seeded demo's first screen, as a new user sees it: lively, and no error toast."""

from __future__ import annotations

import httpx

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import conv_rows, make_app, wait_for
from tui.demo import DemoServer


async def test_seeded_error_is_already_there_when_the_server_answers():
    """A conversation in error is listed as such, not announced as something that just went wrong."""
    with DemoServer(demo_seed=True, **{**FAST_KNOBS, "error_seconds": 2.0}) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            items = (await c.get("/api/conversations/search")).json()["items"]
    assert {i["title"]: i["execution_status"] for i in items}["An LLM error"] == "error"


async def test_first_screen_has_no_error_toast(tmp_path):
    with DemoServer(demo_seed=True, **{**FAST_KNOBS, "error_seconds": 2.0}) as srv:
        app = make_app(srv.base_url, tmp_path, auto_watch=False)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await wait_for(pilot, lambda: len(conv_rows(app)) >= 4, what="the seeded conversations listed")

            def status(title: str) -> str:
                return next(str(r.status.value) for r in conv_rows(app) if r.title == title)

            await wait_for(pilot, lambda: status("Tool call demo") == "finished", what="the first turn done")
            assert status("An LLM error") == "error"
            await pilot.pause(1.0)  # a few more list polls
            errors = [n.message for n in app._notifications if n.severity == "error"]
            assert errors == []
