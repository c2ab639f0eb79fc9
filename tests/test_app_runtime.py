"""A conversation whose runtime the server reports missing (1.58 runtime_info) says so, in its list row and on the
status line, and a reprovision from the palette brings it back; a server at its run limit says so on its row."""

from __future__ import annotations

import io
import uuid

from rich.console import Console

from tests.fixtures_demo import start_demo
from tests.helpers import new_conversation, user_texts
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app.textual_private import notifications
from tui.client import AgentClient

MISSING = {"runtime_status": "missing", "can_resume": True, "runtime_error": None}


def row_text(app, cid: str) -> str:
    options = app.fleet_list.options
    for index in range(options.option_count):
        option = options.get_option_at_index(index)
        if option.id and option.id.endswith(cid):
            return str(option.prompt)
    return ""


def server_text(app) -> str:
    """The server lines as a person reads them."""
    options = app.fleet_list.options
    console = Console(width=100, record=True, file=io.StringIO())
    for index in range(options.option_count):
        option = options.get_option_at_index(index)
        if (option.id or "").startswith("s\x1f"):
            console.print(option.prompt)
    return console.export_text()


async def test_a_missing_runtime_is_shown_and_reprovisioned_from_the_palette(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await create(pilot, app)
        cid = app.current[1]
        assert not app.applies("reprovision"), "offered for a healthy runtime"
        # The server loses the runtime (what a remote runtime that died reports); the next poll brings it.
        demo_server.state.store.get(uuid.UUID(cid)).runtime = dict(MISSING)
        app.fleet.poke()

        await wait_for(pilot, lambda: "✗" in row_text(app, cid), what="the row marked")
        await wait_for(pilot, lambda: app.applies("reprovision"), what="reprovision offered")
        bar = str(app.view.query_one("StatusBar").render())
        assert "runtime is missing" in bar, bar
        app.action_reprovision()  # the palette's command
        await wait_for(pilot, lambda: any("Runtime: available" in str(n.message) for n in notifications(app)))
        await wait_for(pilot, lambda: not app.applies("reprovision"), what="the info read again")
        await wait_for(pilot, lambda: "✗" not in row_text(app, cid), what="the row healthy again")


async def test_a_full_server_is_marked_on_its_row_until_a_run_starts(tmp_path):
    server = start_demo(max_runs=1, slow_seconds=2.5)
    try:
        async with AgentClient(server.base_url) as client:
            busy = await new_conversation(client)
            waiting = await new_conversation(client)
            await client.send_message(busy, "[slow] hold the only run slot")
            app = make_app(server.base_url, tmp_path, auto_watch=False)
            async with app.run_test(size=(120, 36)) as pilot:
                await wait_for(pilot, lambda: row_text(app, waiting) != "", what="listed")
                assert "full" not in server_text(app)
                await app.open_conversation("demo", waiting)
                await wait_for(pilot, lambda: app.session is not None and app.session.id == waiting, what="open")
                await app.session.submit("hello while the server is full")
                await wait_for(pilot, lambda: "full" in server_text(app), what="server row says full")
                # The slot frees, the run starts (the message was stored once): the mark goes.
                await wait_for(pilot, lambda: "full" not in server_text(app), what="room again", timeout=20)
                texts = user_texts(await client.all_events(waiting))
                assert texts.count("hello while the server is full") == 1
    finally:
        server.stop()
