"""A conversation whose runtime the server reports missing (1.58 runtime_info) says so and offers a reprovision."""

from __future__ import annotations

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app.textual_private import notifications


async def test_a_missing_runtime_is_shown_and_reprovisioned_from_the_palette(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await create(pilot, app)
        session = app.session
        assert not app.applies("reprovision"), "offered for a healthy runtime"
        wire = session.info.to_wire()
        wire["runtime_info"] = {"runtime_status": "missing", "can_resume": True, "runtime_error": None}
        session.info = type(session.info).model_validate(wire)  # what a poll of a 1.58 server would bring
        app.view.refresh_snapshot()
        assert app.applies("reprovision")
        bar = str(app.view.query_one("StatusBar").render())
        assert "runtime is missing" in bar, bar
        app.action_reprovision()  # the palette's command
        await wait_for(pilot, lambda: any("Runtime: available" in str(n.message) for n in notifications(app)))
        await wait_for(pilot, lambda: not app.applies("reprovision"), what="the info read again")
