"""Quit and start again: the app lands where the user was (the open conversation, pins, sort, the input
history), opens a conversation named on the command line by an id prefix, shrugs off a damaged state file,
and asks before quitting with messages still queued."""

from __future__ import annotations

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app.continuity import FILE_NAME
from tui.app.screens.dialogs import ConfirmScreen
from tui.app.textual_private import notifications
from tui.session import ChangeKind, conv_key

SIZE = (120, 36)


def texts(app) -> list[str]:
    return [n.message for n in notifications(app)]


async def test_quit_and_restart_lands_where_you_were(demo_server, tmp_path):
    state = tmp_path / "state"
    app = make_app(demo_server.base_url, tmp_path, state_dir=state)
    async with app.run_test(size=SIZE) as pilot:
        other = await create(pilot, app)
        cid = await create(pilot, app)
        app.view.input.focus()
        await pilot.press(*"text one", "enter")
        await wait_for(pilot, lambda: app.session.status.value == "finished", what="reply")
        app.fleet_list.options.focus()
        app.fleet_list.select_key(conv_key("demo", other))
        await pilot.pause()
        await pilot.press("p", "s")  # pin the other one, sort by status
        await pilot.pause()
        assert ("demo", other) in app.watchlist.pinned
    assert (state / FILE_NAME).exists()

    again = make_app(demo_server.base_url, tmp_path, state_dir=state)
    async with again.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: again.current == ("demo", cid), what="the last conversation reopened")
        assert ("demo", other) in again.watchlist.pinned
        assert ("demo", other) in again.watched, "a pinned conversation is followed again"
        assert again.fleet_list.sort == "status"
        again.view.input.focus()
        await pilot.press("up")
        assert again.view.input.text == "text one", "the input history of this conversation"


async def test_open_by_id_prefix(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        await create(pilot, app)
    opened = make_app(demo_server.base_url, tmp_path, open_id=cid[:8])
    async with opened.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: opened.current == ("demo", cid), what="opened by prefix")


async def test_an_unknown_prefix_says_so(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path, open_id="zzzz")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("zzzz" in t for t in texts(app)), what="a notice")
        assert app.current is None


async def test_a_damaged_state_file_is_ignored_with_a_notice(demo_server, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / FILE_NAME).write_text('{"last_open": 5, "pinned": "everything", "history": [[1]]}')
    app = make_app(demo_server.base_url, tmp_path, state_dir=state)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        assert app.current is not None and not app.watchlist.pinned
    (state / FILE_NAME).write_text("[not json")
    app = make_app(demo_server.base_url, tmp_path, state_dir=state)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any(FILE_NAME in t for t in texts(app)), what="the notice")


async def test_quitting_with_queued_messages_asks_and_says_where_they_go(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await create(pilot, app)
        session = app.session
        session.outbox.add("still to send")
        session._emit(ChangeKind.OUTBOX)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question
        assert "1 message(s) still queued" in question and "sent when openhands-tui starts again" in question
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running


async def test_reopen_last_is_a_preference_and_continue_overrides_it(demo_server, tmp_path):
    from tests.snapshot_apps.harness import Prefs

    state = tmp_path / "state"
    app = make_app(demo_server.base_url, tmp_path, state_dir=state)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
    off = Prefs()
    off.reopen_last = False
    app = make_app(demo_server.base_url, tmp_path, state_dir=state, preferences=off)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.fleet.entry("demo").state.value == "ok", what="listed")
        await pilot.pause(0.3)
        assert app.current is None, "not reopened with the preference off"
    app = make_app(demo_server.base_url, tmp_path, state_dir=state, preferences=off, continue_last=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current == ("demo", cid), what="--continue reopens it")
