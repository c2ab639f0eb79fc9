"""Pilot tests: every server state has its answer on the server row; a conversation deleted elsewhere stops cleanly."""

from __future__ import annotations

import socket

from rich.console import Console

from tests.fixtures_demo import FAST_KNOBS, SESSION_KEY
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.client import AgentClient
from tui.demo import DemoServer

SIZE = (120, 36)


def server_line(app) -> str:
    """The server row of the list, as drawn."""
    options = app.fleet_list.options
    prompt = options.get_option_at_index(0).prompt
    console = Console(width=40, record=True, file=open("/dev/null", "w"))
    console.print(prompt)
    return console.export_text()


async def test_dormant_server_row(tmp_path):
    with DemoServer(deferred_init=True, init_key="k", **FAST_KNOBS) as server:
        app = make_app(server.base_url, tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.fleet.entry("demo").state.value == "dormant", what="dormant")
            await wait_for(pilot, lambda: "openhands-tui init" in server_line(app), what="init hint on the row")
            assert "dormant" in server_line(app)


async def test_wrong_key_server_row(demo_server_keyed, tmp_path):
    app = make_app(demo_server_keyed.base_url, tmp_path, session_key="not-" + SESSION_KEY)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.fleet.entry("demo").state.value == "unauthorized", what="unauthorized")
        await wait_for(pilot, lambda: "unauthorized" in server_line(app), what="state on the row")
        assert "session key" in server_line(app)


async def test_unreachable_server_row(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}", tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "unreachable" in server_line(app), what="unreachable on the row")
        assert "retry in" in server_line(app)


async def test_conversation_deleted_elsewhere(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        cid = await create(pilot, app, "[text] hello")
        session = app.session
        other = AgentClient(demo_server.base_url)
        try:
            await other.delete_conversation(cid)
        finally:
            await other.aclose()
        await wait_for(pilot, lambda: "deleted" in app.view.status_bar.plain, timeout=20, what="deleted shown")
        await wait_for(pilot, lambda: str(session.connection.state.value) == "stopped", what="stopped")
        await pilot.pause(1.0)  # a few fleet polls later: still there, still no crash
        assert app.is_running and app.current == ("demo", cid)
        assert "deleted" in app.view.status_bar.plain
        assert not app.applies("interrupt") and not app.applies("pause")
