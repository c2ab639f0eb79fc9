"""Child conversations in the app, against the embedded 1.58 server: one started from the TUI (F4) appears right
under its parent, indented, the parent's row summarises its children, space folds them; a fork is marked with
its origin."""

from __future__ import annotations

import httpx
from textual.widgets import Input, TextArea

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app.screens.child import NewChildScreen
from tui.app.widgets.conversation_list import conv_key

SIZE = (120, 36)


def _order(app) -> list[str]:
    return [o.id for o in app.fleet_list.options.options if o.id and o.id.startswith("c\x1f")]


def _line(app, cid: str) -> str:
    option = app.fleet_list.options.get_option(conv_key("demo", cid))
    return str(option.prompt)


async def test_a_child_started_from_the_tui_sits_under_its_parent_and_folds(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)  # an older, unrelated conversation
        parent = await create(pilot, app)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, NewChildScreen), what="the child dialog")
        app.screen.query_one("#child-task", TextArea).load_text("write the changelog entry")
        app.screen.query_one("#child-title", Input).value = "Changelog child"
        await pilot.press("ctrl+s")
        child = await wait_for(
            pilot,
            lambda: next((r.id for r in app.fleet_list._rows.values() if r.parent == parent), None),
            what="the child listed with its parent",
        )
        assert app.current == ("demo", parent), "the parent stays open"
        order = _order(app)
        assert order.index(conv_key("demo", child)) == order.index(conv_key("demo", parent)) + 1, "right under it"
        await wait_for(pilot, lambda: "└" in _line(app, child), what="indented")
        await wait_for(pilot, lambda: "⑃1" in _line(app, parent), what="the parent summarises its child")
        assert "Changelog child" in _line(app, child)

        app.fleet_list.focus_rows()
        app.fleet_list.select_key(conv_key("demo", parent))
        await pilot.press("space")
        await wait_for(pilot, lambda: conv_key("demo", child) not in _order(app), what="folded")
        assert "▸" in _line(app, parent)
        await pilot.press("space")
        await wait_for(pilot, lambda: conv_key("demo", child) in _order(app), what="unfolded")


async def test_a_fork_is_marked_with_its_origin(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        source = await create(pilot, app)
        await app.fleet.rename("demo", source, "Origin")
        async with httpx.AsyncClient(base_url=demo_server.base_url) as http:
            answer = await http.post(f"/api/conversations/{source}/fork", json={"title": "the fork"})
            assert answer.status_code == 201, answer.text
            fork = answer.json()["id"]
        await wait_for(pilot, lambda: app.fleet_list.row("demo", fork) is not None, what="the fork listed")
        await wait_for(pilot, lambda: "⑂Origin" in _line(app, fork), what="marked with its origin")
