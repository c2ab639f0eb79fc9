"""The action table drives every key: each action has a handler and a help line, Tab and shift+Tab reach every
field of every dialog (scrolled into view at 80x24), and no single printable key acts on a server."""

from __future__ import annotations

import pytest
from textual.widget import Widget

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.fixed import build_app
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.app import actions
from tui.app.actions import ACTIONS, Owner
from tui.app.app import OpenHandsApp
from tui.app.screens.attention import AttentionScreen
from tui.app.screens.changes import ChangesScreen
from tui.app.screens.dialogs import ConfirmScreen, NewConversationScreen, PromptScreen
from tui.app.screens.help import KEYS, HelpScreen
from tui.app.textual_private import notifications
from tui.app.widgets.conversation_list import ConversationList, FleetOptions, conv_key
from tui.app.widgets.event_log import EventLog
from tui.app.widgets.message_input import MessageInput
from tui.app.widgets.queue_view import QueueView
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.protocol import ExecutionStatus

OWNERS: dict[Owner, type] = {
    Owner.APP: OpenHandsApp,
    Owner.LIST: ConversationList,
    Owner.OPTIONS: FleetOptions,
    Owner.LOG: EventLog,
    Owner.QUEUE: QueueView,
    Owner.INPUT: MessageInput,
    Owner.ATTENTION: AttentionScreen,
    Owner.CHANGES: ChangesScreen,
}


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_every_action_has_a_handler_and_a_help_line(action):
    assert hasattr(OWNERS[action.owner], action.method), f"{OWNERS[action.owner].__name__} has no {action.method}"
    lines = [line for _section, rows in KEYS for line in rows]
    assert (action.keys_text, action.help) in lines


def test_the_event_logs_own_bindings_are_the_tables():
    """EventLog keeps its BINDINGS in its own module: what the help says about it must be what it binds."""
    bound = {(b.key, b.action) for b in EventLog.BINDINGS if not isinstance(b, tuple)}
    for action in ACTIONS:
        if action.owner is Owner.LOG:
            assert (action.keys, action.call or action.name) in bound


def test_server_actions_need_a_modifier_or_a_confirmation():
    for action in ACTIONS:
        if action.on_server and not action.confirms:
            for key in action.keys.split(","):
                assert not actions.printable_key(key), f"{action.name} is bound to the printable key {key!r}"


async def test_the_palette_offers_what_applies_and_runs_it():
    app = build_app("main")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Stop & send", "Interrupt", "New conversation", "Filter conversations", "Copy selected event"} <= set(
            commands
        )
        assert "Approve pending action" not in commands, "nothing waits for confirmation in this conversation"
        commands["Filter conversations"].callback()
        await pilot.pause()
        assert app.fleet_list.has_class("-filtering")


def test_placeholder_and_hints_come_from_the_table():
    assert "ctrl+s stop & send" in actions.input_placeholder()
    assert actions.key_hint("approve") == "ctrl+y" and actions.key_hint("reject") == "ctrl+f"


# ------------------------------------------------------------------ Tab through every dialog


def _fully_visible(widget: Widget) -> bool:
    geometry = widget.screen.find_widget(widget)
    region = geometry.region
    return region.area > 0 and geometry.clip.contains_region(region) and widget.screen.region.contains_region(region)


async def _open_dialog(pilot, app, dialog: str) -> None:
    if dialog == "new":
        await pilot.press("ctrl+n")
    elif dialog == "rename":
        await pilot.press("f2")
    elif dialog == "delete":
        await pilot.press("f8")
    elif dialog == "reject":
        await pilot.press("ctrl+f")
    elif dialog == "queue-edit":
        app.view.queue.focus()
        await pilot.pause()
        await pilot.press("e")
    elif dialog == "help":
        await pilot.press("f1")
    await pilot.pause()


DIALOGS = {
    "new": ("main", NewConversationScreen),
    "rename": ("main", PromptScreen),
    "delete": ("main", ConfirmScreen),
    "reject": ("confirmation", PromptScreen),
    "queue-edit": ("main", PromptScreen),
    "help": ("main", HelpScreen),
}


@pytest.mark.parametrize("dialog", list(DIALOGS))
async def test_tab_and_shift_tab_reach_every_field_in_view(dialog):
    scene, screen_type = DIALOGS[dialog]
    app = build_app(scene)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await _open_dialog(pilot, app, dialog)
        screen = app.screen
        assert isinstance(screen, screen_type)
        chain = list(screen.focus_chain)
        assert chain and app.focused in chain
        if dialog == "new":
            assert len(chain) >= 9, "server, model, base URL, key, directory, confirm, message, cancel, create"
        start = app.focused
        forward = []
        for _ in chain:
            await pilot.press("tab")
            forward.append(app.focused)
            assert app.screen is screen
            assert _fully_visible(app.focused), f"{app.focused} focused but not scrolled into view"
        assert set(forward) == set(chain) and forward[-1] is start
        backward = []
        for _ in chain:
            await pilot.press("shift+tab")
            backward.append(app.focused)
            assert _fully_visible(app.focused), f"{app.focused} focused but not scrolled into view"
        assert backward[:-1] == list(reversed(forward[:-1])) and backward[-1] is start


async def test_tab_moves_through_the_main_screen():
    app = build_app("main")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chain = list(app.screen.focus_chain)
        seen = []
        for _ in chain:
            await pilot.press("tab")
            seen.append(app.focused)
        assert set(seen) == set(chain)
        assert {app.fleet_list.options, app.view.input, app.view.queue} <= set(seen)
        back = []
        for _ in chain:
            await pilot.press("shift+tab")
            back.append(app.focused)
        assert back[:-1] == list(reversed(seen[:-1]))


# ------------------------------------------------------------------ stray keys


@pytest.fixture(scope="module")
def seeded_server():
    with DemoServer(demo_seed=True, **FAST_KNOBS) as srv:
        yield srv


async def _server_state(url: str, cid: str) -> tuple[set[str], ExecutionStatus, int]:
    async with AgentClient(url) as client:
        infos = await client.search_conversations()
        status = next(i.status for i in infos if i.id == cid)
        return {i.id for i in infos}, status, await client.count_events(cid)


async def test_no_printable_key_acts_on_a_server(seeded_server, tmp_path):
    app = make_app(seeded_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        entry = app.fleet.entry("demo")
        await wait_for(pilot, lambda: len(entry.conversations) >= 4, what="listed")
        cid = next(i.id for i in entry.conversations.values() if i.status is ExecutionStatus.WAITING_FOR_CONFIRMATION)
        await wait_for(pilot, lambda: ("demo", cid) in app.watched, what="waiting one watched")
        session = app.watched[("demo", cid)].session
        await wait_for(pilot, lambda: session.connection.state.value == "live", what="live")
        before = await _server_state(seeded_server.base_url, cid)
        assert before[1] is ExecutionStatus.WAITING_FOR_CONFIRMATION

        async def settle() -> None:
            await pilot.pause()
            while len(app.screen_stack) > 1:
                app.pop_screen()
                await pilot.pause()
            if app.fleet_list.has_class("-filtering"):
                app.fleet_list.clear_filter()
                await pilot.pause()

        # In the list, on the waiting conversation's row: a stray `a` once approved it.
        for char in actions.PRINTABLE:
            app.fleet_list.options.focus()
            app.fleet_list.select_key(conv_key("demo", cid))
            await pilot.pause()
            assert app.fleet_list.highlighted is not None and app.fleet_list.highlighted.id == cid
            await pilot.press(char)
            await settle()
        # In the log of the open conversation.
        await app.open_conversation("demo", cid)
        for char in actions.PRINTABLE:
            app.view.log_widget.focus()
            await pilot.pause()
            await pilot.press(char)
            await settle()
        await pilot.pause(0.5)  # anything fired in the background has reached the server
        assert await _server_state(seeded_server.base_url, cid) == before, "nothing approved, rejected, sent, deleted"
        assert not session.outbox.items and not session.turn.interrupting
        assert session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION


async def test_approve_and_reject_from_the_list_use_the_conversations_keys_and_name_the_action(demo_server, tmp_path):
    from textual.widgets import Static

    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        waiting = await create(pilot, app, "confirm: clean the build directory", confirm=True)
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION, what="waiting")
        await wait_for(pilot, lambda: session.pending_actions(), what="the pending action known")
        await create(pilot, app)  # another one open: the waiting one is only a row in the list
        app.fleet_list.focus_rows()
        app.fleet_list.select_key(conv_key("demo", waiting))
        await pilot.pause()
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert "rm -rf build" in str(app.screen.query_one(".title", Static).render())
        await pilot.press("escape")  # cancelled: nothing rejected
        await pilot.pause()
        assert session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: session.status is not ExecutionStatus.WAITING_FOR_CONFIRMATION, 20, "approved")
        assert any("Approved" in n.message and "rm -rf build" in n.message for n in notifications(app))


async def test_typing_in_the_list_starts_the_filter(seeded_server, tmp_path):
    """Type to find: printable keys with no action of their own go to the filter, in order, even in a burst."""
    app = make_app(seeded_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: len(app.fleet.entry("demo").conversations) >= 4, what="listed")
        app.fleet_list.options.focus()
        await pilot.pause()
        await pilot.press("w", "a", "i", "t")  # "Waiting for your confirmation"
        await pilot.pause()
        assert app.fleet_list.filter_text == "wait"
        visible = [
            str(app.fleet_list.options.get_option_at_index(i).prompt)
            for i in range(app.fleet_list.options.option_count)
        ]
        assert any("Waiting" in line for line in visible)
        assert not any("LLM error" in line for line in visible)
