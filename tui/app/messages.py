"""Textual messages the app posts to itself and its widgets (the bridge turns session/fleet callbacks into these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class SessionChanged(Message):
    """A `SessionChange` from one watched conversation."""

    server_name: str
    change: Any  # tui.session.SessionChange


@dataclass
class FleetChanged(Message):
    """A `FleetChange` (servers polled, conversations appeared/changed/vanished)."""

    change: Any = None


@dataclass
class OpenConversation(Message):
    """The user picked a conversation in the list (or the palette)."""

    server_name: str
    conversation_id: str


@dataclass
class Submitted(Message):
    """The message input asks to send (or queue) its text."""

    text: str
    interrupt: bool = False


@dataclass
class OlderLoaded(Message):
    """Older events were fetched from the server for a conversation (after their EVENTS change)."""

    server_name: str
    conversation_id: str
