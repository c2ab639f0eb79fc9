"""The message box's cursor blinks while it is used, then stays on: an app left alone writes nothing to the
terminal (a blinking cursor repaints its line twice a second for as long as the app is open)."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.app.widgets import steady_cursor
from tui.app.widgets.message_input import MessageInput


class Box(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("other", id="other")
        yield MessageInput(id="box")


def count_line_repaints(box: MessageInput) -> list[int]:
    repaints: list[int] = []
    original = box.refresh

    def counted(*args, **kwargs):
        repaints.append(1)
        return original(*args, **kwargs)

    box.refresh = counted  # type: ignore[method-assign]
    return repaints


async def test_the_cursor_blinks_after_a_key_then_stays_on(monkeypatch):
    monkeypatch.setattr(steady_cursor, "BLINK_FOR", 2.0)
    app = Box()
    async with app.run_test(size=(60, 10)) as pilot:
        box = app.query_one(MessageInput)
        box.focus()
        await pilot.press("h", "i")
        repaints = count_line_repaints(box)
        await asyncio.sleep(1.5)
        assert box.cursor_blink and repaints, "it blinks while someone types"
        await asyncio.sleep(1.0)
        assert not box.cursor_blink
        repaints.clear()
        await asyncio.sleep(1.2)
        assert repaints == [], "left alone, the box repaints nothing"
        assert box.has_focus and box._cursor_visible, "the cursor stays on"
        await pilot.press("x")
        await asyncio.sleep(1.5)
        assert box.cursor_blink and repaints, "a key makes it blink again"
        assert box.text == "hix"


async def test_a_box_told_not_to_blink_never_blinks(monkeypatch):
    monkeypatch.setattr(steady_cursor, "BLINK_FOR", 0.3)
    app = Box()
    async with app.run_test(size=(60, 10)) as pilot:
        box = app.query_one(MessageInput)
        box.cursor_blink = False
        box.focus()
        await pilot.press("a")
        await asyncio.sleep(0.6)
        await pilot.press("b")
        assert not box.cursor_blink
