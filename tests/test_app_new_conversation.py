"""The New-conversation form for real servers: no scripted-demo defaults on a real server, config defaults per
server, the last values used remembered per server (also after a restart), clear errors."""

from __future__ import annotations

from textual.widgets import Input, Static

from tests.snapshot_apps.harness import Prefs, wait_for
from tui.app.app import OpenHandsApp
from tui.config import ServerConfig
from tui.session import Fleet

SIZE = (120, 36)


def app_on(url: str, tmp_path, **server) -> OpenHandsApp:
    fleet = Fleet([ServerConfig("real", url, **server)], state_dir=tmp_path, fast_poll=0.3, slow_poll=0.5)
    return OpenHandsApp(fleet, preferences=Prefs(), state_dir=tmp_path / "state")


async def open_form(pilot, app):
    await wait_for(pilot, lambda: app.fleet.entry("real").state.value == "ok", what="server ok")
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: app.screen.query("#model"), what="dialog")
    return lambda name: app.screen.query_one(f"#{name}", Input)


def error(app) -> str:
    return str(app.screen.query_one("#error", Static).render())


async def test_a_real_server_gets_no_demo_defaults_and_clear_errors(demo_server, tmp_path):
    app = app_on(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        field = await open_form(pilot, app)
        assert field("model").value == "" and field("working-dir").value == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "A model is needed" in error(app)
        field("model").value = "demo/scripted"
        field("working-dir").value = "work/here"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "absolute path" in error(app) and "work/here" in error(app)


async def test_config_defaults_then_the_last_values_used_per_server(demo_server, tmp_path):
    app = app_on(demo_server.base_url, tmp_path, default_model="demo/scripted", default_workdir="/workspace/cfg")
    async with app.run_test(size=SIZE) as pilot:
        field = await open_form(pilot, app)
        assert field("model").value == "demo/scripted" and field("working-dir").value == "/workspace/cfg"
        field("working-dir").value = "/workspace/mine"
        field("api-key-env").value = "HOME"  # any variable that is set: only its name is remembered
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.current is not None, what="created")
        field = await open_form(pilot, app)
        assert field("working-dir").value == "/workspace/mine" and field("api-key-env").value == "HOME"
    again = app_on(demo_server.base_url, tmp_path, default_model="demo/scripted", default_workdir="/workspace/cfg")
    async with again.run_test(size=SIZE) as pilot:
        field = await open_form(pilot, again)
        assert field("working-dir").value == "/workspace/mine", "remembered between runs"
    saved = (tmp_path / "state" / "ui-state.json").read_text()
    assert "/workspace/mine" in saved and "HOME" in saved
    import os

    assert os.environ["HOME"] not in saved.replace("/workspace/mine", ""), "never the key's value"


async def test_the_tools_come_from_the_servers_catalog(demo_server, tmp_path):
    from textual.widgets import SelectionList

    from tui.client import AgentClient

    async with AgentClient(demo_server.base_url) as client:
        catalog = await client.tools_catalog()
    offered = [entry.name for entry in catalog.offerable]
    defaults = [entry.name for entry in catalog.offerable if entry.in_default_set]
    assert offered and defaults
    app = app_on(demo_server.base_url, tmp_path, default_model="demo/scripted", default_workdir="/workspace/t")
    async with app.run_test(size=SIZE) as pilot:
        await open_form(pilot, app)
        tools = app.screen.query_one("#tools", SelectionList)
        await wait_for(pilot, lambda: tools.option_count == len(offered), what="the catalog offered")
        assert tools.display
        assert sorted(tools.selected) == sorted(defaults), "the server's default set is ticked"
        dropped = defaults[0]
        tools.deselect(dropped)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.current is not None, what="created")
        cid = app.current[1]
    async with AgentClient(demo_server.base_url) as client:
        info = await client.get_conversation(cid)
    names = [tool.get("name") for tool in info.agent.get("tools", [])]
    assert dropped not in names and sorted(names) == sorted(set(defaults) - {dropped})
