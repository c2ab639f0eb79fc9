"""The conversation list keeps its rows still while the user moves through it."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult

from tests.snapshot_apps.harness import wait_for
from tui.app.widgets import conversation_list as cl
from tui.app.widgets.conversation_list import ConversationList, ConvRow, ServerRow


class ListApp(App):
    def compose(self) -> ComposeResult:
        yield ConversationList(id="list")


def servers(activity: dict[str, float]) -> list[ServerRow]:
    rows = [ConvRow("demo", cid, f"conversation {cid}", last_activity=t) for cid, t in activity.items()]
    return [ServerRow("demo", "ok", conversations=rows)]


def order(widget: ConversationList) -> list[str]:
    return [o.id.split("\x1f")[-1] for o in widget.options.options if o.id and o.id.startswith("c\x1f")]


async def test_a_resort_waits_while_the_user_moves_through_the_list(monkeypatch):
    monkeypatch.setattr(cl, "HOLD_ORDER", 0.6)
    app = ListApp()
    async with app.run_test(size=(80, 20)) as pilot:
        widget = app.query_one(ConversationList)
        now = time.time()
        widget.set_servers(servers({"a": now - 1, "b": now - 2, "c": now - 3}))
        widget.options.focus()
        await pilot.pause()
        assert order(widget) == ["a", "b", "c"]
        await pilot.press("down")
        # "c" finishes right now: by recency it belongs on top, but the user is moving through the list.
        widget.set_servers(servers({"a": now - 1, "b": now - 2, "c": now + 1}))
        await pilot.pause()
        assert order(widget) == ["a", "b", "c"]
        await wait_for(pilot, lambda: order(widget) == ["c", "a", "b"], timeout=5, what="re-sorted after the hold")


async def test_without_a_move_the_list_resorts_at_once():
    app = ListApp()
    async with app.run_test(size=(80, 20)) as pilot:
        widget = app.query_one(ConversationList)
        now = time.time()
        widget.set_servers(servers({"a": now - 1, "b": now - 2}))
        await pilot.pause()
        widget.set_servers(servers({"a": now - 1, "b": now + 1}))
        await pilot.pause()
        assert order(widget) == ["b", "a"]
