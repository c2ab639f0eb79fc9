"""A poll that changed a few conversations updates their lines where they are: the other rows are not rebuilt
(with a thousand conversations a rebuild per poll held the event loop), and the order catches up shortly after."""

from __future__ import annotations

from tests.snapshot_apps.fixed import build_app, info
from tui.app import app as app_module
from tui.app.messages import FleetChanged
from tui.session import FleetChange


def row_text(app, cid: str) -> str:
    option = app.fleet_list.options.get_option(f"c\x1fwork\x1f{cid}")
    return str(option.prompt)


def order(app) -> list[str]:
    return [o.id.split("\x1f")[-1] for o in app.fleet_list.options.options if o.id and o.id.startswith("c\x1fwork")]


async def test_a_poll_updates_the_changed_line_in_place_then_reorders(monkeypatch):
    monkeypatch.setattr(app_module, "FLEET_REORDER", 0.5)
    app = build_app("empty")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        options = app.fleet_list.options
        rebuilt: list[int] = []
        set_options = options.set_options

        def counted(*args, **kwargs):
            rebuilt.append(1)
            return set_options(*args, **kwargs)

        options.set_options = counted  # type: ignore[method-assign]
        assert "Write release notes" in row_text(app, "c-done")
        before = order(app)
        assert before.index("c-idle") > 0
        # The oldest conversation is renamed and becomes the most recent one.
        app.fleet.entry("work").conversations["c-idle"] = info("c-idle", "Renamed on the server", "idle", 1)
        app.post_message(FleetChanged(FleetChange("work", changed=("c-idle",))))
        await pilot.pause(0.2)
        assert "Renamed on the server" in row_text(app, "c-idle")
        assert rebuilt == [] and order(app) == before, "one line changed in place, nothing rebuilt"
        await pilot.pause(0.8)
        assert order(app)[0] == "c-idle", "the order caught up"
