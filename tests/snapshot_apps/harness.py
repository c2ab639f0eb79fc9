"""Helpers for the Pilot tests of the app: build the app on a demo server, poll predicates with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tui.config import ServerConfig
from tui.session import Fleet


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll `predicate` every 20 ms until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.02)


class Prefs:
    """In-memory preferences (the real ones write to the state directory)."""

    def __init__(self, theme: str = "textual-dark", bell: bool = False) -> None:
        self.theme = theme
        self.bell = bell
        self.notify_background = True
        self.reopen_last = True
        self.list_hide_below = 80
        self.saved = 0

    def save(self) -> None:
        self.saved += 1


def make_app(
    server_url: str,
    tmp_path: Any = None,
    *,
    name: str = "demo",
    session_key: str | None = None,
    fast_poll: float = 0.3,
    slow_poll: float = 0.5,
    **kwargs: Any,
):
    from tui.app.app import OpenHandsApp

    fleet = Fleet(
        [ServerConfig(name, server_url, session_key, default_model="demo/scripted")],
        state_dir=tmp_path,
        fast_poll=fast_poll,
        slow_poll=slow_poll,
    )
    return OpenHandsApp(fleet, preferences=kwargs.pop("preferences", Prefs()), **kwargs)


def conv_rows(app: Any) -> list:
    return list(app.fleet_list._rows.values())


async def create(pilot: Any, app: Any, first_message: str = "", *, confirm: bool = False) -> str:
    """Create a conversation through the client (fast) and open it; returns its id."""
    from tui.app.screens.dialogs import NewConversation

    before = set(app.fleet.entry("demo").conversations)
    spec = NewConversation(
        server="demo",
        model="demo/scripted",
        base_url=None,
        api_key_env=None,
        api_key=None,
        working_dir="/workspace/demo",
        confirm=confirm,
        first_message=first_message,
    )
    await app.create_conversation(spec)
    await wait_for(pilot, lambda: app.current is not None and app.current[1] not in before, what="opened")
    session = app.session
    await wait_for(pilot, lambda: str(session.connection.state.value) == "live", what="live")
    return app.current[1]


def log_text(app: Any) -> str:
    view = app.view
    view.log_widget._flush()
    return view.log_widget.plain_text()


def visible(log: Any, item: Any) -> bool:
    """The item is mounted and wholly inside the log's visible region."""
    top = log.scroll_offset.y
    region = item.virtual_region
    return item.is_attached and region.y >= top and region.bottom <= top + log.scrollable_content_region.height
