"""Textual messages the app posts to itself (session and fleet callbacks become these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from tui.session import FleetChange, SessionChange


@dataclass
class SessionChanged(Message):
    """A `SessionChange` from one watched conversation."""

    server_name: str
    change: SessionChange


@dataclass
class FleetChanged(Message):
    """A `FleetChange` (servers polled, conversations appeared/changed/vanished)."""

    change: FleetChange


@dataclass
class OlderLoaded(Message):
    """Older events were fetched from the server for a conversation (after their EVENTS change)."""

    server_name: str
    conversation_id: str
