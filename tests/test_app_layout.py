"""Layout: the list hides itself in a narrow terminal while you are in a conversation and comes back with the
focus; f9 hides and shows it; toasts never cover the message box, the status bar or the footer."""

from __future__ import annotations

from textual.widgets import Footer

from tests.snapshot_apps.fixed import build_app
from tui.app.actions import BY_NAME


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause(0.1)


async def test_narrow_terminal_hides_the_list_while_in_a_conversation():
    app = build_app("main")
    async with app.run_test(size=(72, 24)) as pilot:  # below the preference's 80 columns
        await settle(pilot)
        app.view.focus_input()
        await settle(pilot)
        assert app.fleet_list.region.width == 0
        assert app.view.region.width == 72, "the conversation takes the whole width"
        await pilot.press("ctrl+l")  # back to the list: it shows again
        await settle(pilot)
        assert app.fleet_list.region.width > 0 and app.fleet_list.options.has_focus


async def test_f9_hides_and_shows_the_list():
    app = build_app("main")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.view.focus_input()
        await settle(pilot)
        assert app.fleet_list.region.width > 0, "wide enough: shown"
        await pilot.press("f9")
        await settle(pilot)
        assert app.fleet_list.region.width == 0 and app.view.region.width == 120
        await pilot.press("f9")
        await settle(pilot)
        assert app.fleet_list.region.width > 0 and app.fleet_list.options.has_focus


async def test_toasts_do_not_cover_the_input_the_status_bar_or_the_footer():
    app = build_app("main")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        app.view.focus_input()
        for n in range(4):
            app.notify(f"notice number {n} " + "long words " * 6, markup=False)
        await settle(pilot)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        covered = [app.view.input, app.view.status_bar, app.screen.query_one(Footer)]
        visible = []
        for toast in toasts:
            geometry = app.screen.find_widget(toast)
            shown = geometry.region.intersection(geometry.clip)
            if not shown.area:
                continue
            visible.append(toast)
            for widget in covered:
                assert not shown.overlaps(widget.region), f"a toast covers {widget}"
        assert visible, "toasts are still shown"


async def test_the_embedded_demo_says_what_it_is_and_how_to_connect_a_real_server(demo_server, tmp_path):
    from tests.snapshot_apps.harness import Prefs, wait_for
    from tui.app.app import OpenHandsApp
    from tui.config import ServerConfig
    from tui.session import Fleet

    fleet = Fleet([ServerConfig("embedded demo", demo_server.base_url, embedded=True)], state_dir=tmp_path)
    app = OpenHandsApp(fleet, preferences=Prefs())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: fleet.entry("embedded demo").state.value == "ok", what="listed")
        await pilot.pause()
        header = str(app.fleet_list.options.get_option_at_index(0).prompt.renderables[1])
        assert "scripted demo, no LLM" in header and "--server URL" in header
        form = app.form_defaults()["embedded demo"]
        assert form["model"] == "demo/scripted", "the scripted model only on the embedded server"
        assert "embedded demo stops with the app" in BY_NAME["quit"].help, "no claim that it keeps running"
