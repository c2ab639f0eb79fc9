"""Pilot tests: first-run focus and Esc, footer keys per state, filter, sort, copy, theme memory, bell, pinning."""

from __future__ import annotations

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import Prefs, conv_rows, create, make_app, wait_for
from tui.app.textual_private import notifications
from tui.config import Preferences
from tui.demo import DemoServer
from tui.protocol import ExecutionStatus

SIZE = (120, 36)
TITLES = {"Tool call demo", "Streaming a long answer", "Waiting for your confirmation", "An LLM error"}


@pytest.fixture(scope="module")
def seeded_server():
    """The demo server with its four lively conversations (finished, streaming, confirmation, error)."""
    with DemoServer(demo_seed=True, **FAST_KNOBS) as srv:
        yield srv


def footer_actions(app) -> set[str]:
    """The actions the footer shows right now (enabled, shown bindings of the focused chain)."""
    return {b.binding.action for b in app.screen.active_bindings.values() if b.enabled and b.binding.show}


def visible_titles(app) -> list[str]:
    return [row.title for row in app.fleet_list._visible(app.fleet_list.servers[0].conversations)]


async def listed(pilot, app, count: int = 4) -> None:
    await wait_for(
        pilot,
        lambda: len(conv_rows(app)) >= count and app.fleet_list.highlighted is not None,
        what=f"{count} conversations listed",
    )


async def test_first_run_focus_and_escape(seeded_server, tmp_path):
    app = make_app(seeded_server.base_url, tmp_path, auto_watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await listed(pilot, app)
        # Nothing open: the list has the keys, and the footer says what they do.
        assert app.fleet_list.options.has_focus
        assert {"select", "start_filter", "cycle_sort", "new_conversation", "help"} <= footer_actions(app)
        assert "interrupt" not in footer_actions(app) and "back_to_list" not in footer_actions(app)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.current is not None, what="opened with arrows + enter")
        await wait_for(pilot, lambda: app.view.input.has_focus, what="the message box focused")
        await wait_for(pilot, lambda: str(app.session.connection.state.value) == "live", what="live")
        await wait_for(pilot, lambda: {"submit", "back_to_list"} <= footer_actions(app), what="footer keys")
        assert "interrupt" not in footer_actions(app)
        # Esc with nothing running: back to the list, on the open conversation's row.
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.fleet_list.options.has_focus, what="back in the list")
        assert app.fleet_list.highlighted.id == app.current[1]
        assert app.current is not None  # still open: only the focus moved


async def test_escape_interrupts_while_running(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        assert app.view.input.has_focus
        app.view.input.load_text("[slow] a slow one")
        await pilot.press("enter")
        session = app.session
        await wait_for(pilot, lambda: app.applies("interrupt"), what="running")
        assert "interrupt" in footer_actions(app) and "back_to_list" not in footer_actions(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: session.status is ExecutionStatus.PAUSED, what="interrupted")
        assert app.view.input.has_focus  # esc interrupted; it did not leave the conversation
        await wait_for(pilot, lambda: "back_to_list" in footer_actions(app), what="esc means list again")


async def test_filter_narrows_and_escape_clears(seeded_server, tmp_path):
    app = make_app(seeded_server.base_url, tmp_path, auto_watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await listed(pilot, app)
        assert set(visible_titles(app)) == TITLES
        await pilot.press("slash")
        assert app.fleet_list.has_class("-filtering")
        assert {"submit", "clear_filter"} <= footer_actions(app)
        await pilot.press(*"tool")
        await wait_for(pilot, lambda: visible_titles(app) == ["Tool call demo"], what="narrowed")
        assert [r.title for r in conv_rows(app)] == ["Tool call demo"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: set(visible_titles(app)) == TITLES, what="filter cleared")
        assert not app.fleet_list.has_class("-filtering") and app.fleet_list.options.has_focus
        # Enter keeps a filter and returns to the list.
        await pilot.press("slash", *"error", "enter")
        await wait_for(pilot, lambda: [r.title for r in conv_rows(app)] == ["An LLM error"], what="kept")
        assert app.fleet_list.options.has_focus and app.fleet_list.filter_text == "error"


async def test_sort_cycles(seeded_server, tmp_path):
    app = make_app(seeded_server.base_url, tmp_path, auto_watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await listed(pilot, app)
        await wait_for(
            pilot,
            lambda: all(r.status is not ExecutionStatus.RUNNING for r in conv_rows(app)),
            timeout=15,
            what="seeded turns settled",
        )
        assert app.fleet_list.sort == "recent"
        await pilot.press("s")
        assert app.fleet_list.sort == "status"
        statuses = [r.status for r in conv_rows(app)]
        assert statuses[0] is ExecutionStatus.WAITING_FOR_CONFIRMATION and statuses[1] is ExecutionStatus.ERROR
        await pilot.press("s")
        assert app.fleet_list.sort == "title"
        titles = [r.title for r in conv_rows(app)]
        assert titles == sorted(TITLES, key=str.lower)
        await pilot.press("s")
        assert app.fleet_list.sort == "recent"
        assert "recent" in str(app.fleet_list._counts.render())


async def test_copy_selected_event(seeded_server, tmp_path):
    app = make_app(seeded_server.base_url, tmp_path, auto_watch=False)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await listed(pilot, app)
        row = next(r for r in conv_rows(app) if r.title == "Tool call demo")
        await app.open_conversation(row.server, row.id)
        log = app.view.log_widget
        await wait_for(pilot, lambda: "echo hello" in log.plain_text(), what="history shown")
        log.focus()
        await pilot.press("up")
        while "echo hello" not in (log.selected_text or ""):
            await pilot.press("up")
        await pilot.press("c")
        await wait_for(pilot, lambda: copied, what="clipboard written")
        assert copied == [log.selected_text] and "echo hello" in copied[0]
        assert any(n.message.startswith("Copied") for n in notifications(app))


async def test_theme_saved_and_restored(demo_server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENHANDS_TUI_STATE_DIR", str(tmp_path / "state"))
    app = make_app(demo_server.base_url, tmp_path, preferences=Preferences.load())
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert (tmp_path / "state" / "preferences.json").exists()
    assert Preferences.load().theme == "nord"
    again = make_app(demo_server.base_url, tmp_path, preferences=Preferences.load())
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


async def test_bell_preference(demo_server, tmp_path):
    prefs = Prefs(bell=False)
    app = make_app(demo_server.base_url, tmp_path, preferences=prefs)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)

    async def background_finish(text: str) -> None:
        first = await create(pilot, app)
        app.view.input.load_text(text)
        await pilot.press("enter")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING, what="running")
        await create(pilot, app)
        await wait_for(
            pilot,
            lambda: (("demo", first), ExecutionStatus.FINISHED) in app.watchlist.notified,
            timeout=15,
            what="background finish noticed",
        )

    async with app.run_test(size=SIZE) as pilot:
        await background_finish("[slow] quietly")
        assert bells == []  # bell off: a notification, no bell
        app.action_toggle_bell()
        assert prefs.bell is True and prefs.saved
        await background_finish("[slow] loudly")
        assert bells == [1]


async def test_pin_keeps_a_worker(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        pinned = await create(pilot, app)
        other = await create(pilot, app)
        await wait_for(pilot, lambda: app.fleet_list.row("demo", pinned) is not None, what="listed")
        # Unpinned and idle: opening another conversation stops following it.
        assert ("demo", pinned) not in app.watched
        app.fleet_list.select_key(app.fleet_list.row("demo", pinned).key)
        app.fleet_list.options.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: ("demo", pinned) in app.watchlist.pinned, what="pinned")
        assert ("demo", pinned) in app.watched and app.fleet_list.row("demo", pinned).pinned
        await app.open_conversation("demo", pinned)
        await app.open_conversation("demo", other)
        watch = app.watched.get(("demo", pinned))
        assert watch is not None and watch.worker is not None and watch.worker.is_running
        await pilot.press("escape")  # to the list; the highlighted row is the open one
        app.fleet_list.select_key(app.fleet_list.row("demo", pinned).key)
        await pilot.press("p")
        await wait_for(pilot, lambda: ("demo", pinned) not in app.watchlist.pinned, what="unpinned")
        await app.open_conversation("demo", pinned)
        await app.open_conversation("demo", other)
        assert ("demo", pinned) not in app.watched
