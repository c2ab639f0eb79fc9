"""The first frame comes before the session layer: the list shows the servers connecting at once, keys pressed
before the fleet exists do nothing harmful, and the fleet fills the list in when it is built."""

from __future__ import annotations

import subprocess
import sys
import threading

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import Prefs, wait_for
from tests.test_faults_errors import SilentServer
from tui.config import ServerConfig
from tui.demo import DemoServer

SIZE = (120, 36)


def screen_text(app) -> str:
    """What the terminal shows, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def build_app(factory, servers, tmp_path):
    from tui.app.app import OpenHandsApp

    return OpenHandsApp(fleet_factory=factory, servers=servers, preferences=Prefs(), state_dir=tmp_path)


def held_factory(configs, tmp_path):
    """A fleet factory that waits (as the imports of a slow start would) until the test lets it go."""
    release = threading.Event()
    calls: list[object] = []

    def factory():
        from tui.session import Fleet

        release.wait(30)
        fleet = Fleet(configs, state_dir=tmp_path, fast_poll=0.3, slow_poll=0.5)
        calls.append(fleet)
        return fleet

    return factory, release, calls


async def test_first_frame_shows_the_servers_connecting_before_the_fleet_exists(tmp_path):
    with SilentServer() as silent:  # accepts, never answers
        configs = [ServerConfig("far away", f"http://127.0.0.1:{silent.port}")]
        factory, release, built = held_factory(configs, tmp_path)
        app = build_app(factory, [("far away", False)], tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            text = screen_text(app)
            assert "far away" in text and "connecting" in text
            assert "No conversation open" in text
            assert not built  # all of that before the fleet was made
            # A burst of keys while there is nothing yet: no crash, nothing opened, no dialog.
            await pilot.press("down", "enter", "ctrl+n", "f8", "f3", "f5", "p", "s", "up")
            assert len(app.screen_stack) == 1 and app.current is None
            release.set()
            await wait_for(pilot, lambda: app.fleet_ready, what="the fleet built")
            await pilot.pause(0.3)
            text = screen_text(app)
            assert "far away" in text and "connecting" in text  # the server still has not answered
            await pilot.press("ctrl+n")  # the keys work once the fleet is there
            await wait_for(pilot, lambda: len(app.screen_stack) == 2, what="the new-conversation dialog")


async def test_fleet_fills_the_list_in_after_the_first_frame(tmp_path):
    with DemoServer(demo_seed=True, **FAST_KNOBS) as server:
        configs = [ServerConfig("demo", server.base_url, default_model="demo/scripted")]
        factory, release, built = held_factory(configs, tmp_path)
        app = build_app(factory, [("demo", False)], tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "connecting" in screen_text(app) and not built
            release.set()
            await wait_for(pilot, lambda: "Tool call demo" in screen_text(app), what="the seeded conversations")
            assert "connecting" not in screen_text(app)


async def test_a_fleet_that_cannot_be_built_says_why(tmp_path):
    def factory():
        raise OSError("the state directory is read-only")

    app = build_app(factory, [("demo", False)], tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: "read-only" in screen_text(app), what="the reason on screen")
        await pilot.press("ctrl+q")


def test_the_app_module_does_not_import_the_session_layer():
    """What the first frame waits for: Textual and the app's own modules, not httpx, websockets or pydantic."""
    code = (
        "import sys, tui.cli, tui.launch, tui.app.app; "
        "print(' '.join(m for m in ('httpx', 'websockets', 'pydantic', 'tui.session.fleet', 'tui.client.rest')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
