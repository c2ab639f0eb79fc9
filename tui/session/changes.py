"""What a session tells its listeners (the app turns these into Textual messages; the CLI prints them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from tui.sanitize import one_line

if TYPE_CHECKING:
    from tui.protocol import Event


class ChangeKind(StrEnum):
    EVENTS = "events"  # new events in the timeline
    STATUS = "status"
    USAGE = "usage"
    TOKENS = "tokens"  # the streaming buffer changed
    CONNECTION = "connection"
    OUTBOX = "outbox"
    INFO = "info"  # REST ConversationInfo refreshed (title, ...)
    TURN = "turn"  # a turn started or ended, or interrupting changed
    NOTICE = "notice"  # something a person should be told


@dataclass(frozen=True, slots=True)
class SessionChange:
    kind: ChangeKind
    conversation_id: str
    events: tuple[Event, ...] = ()
    message: str = ""
    severity: str = "information"  # information | warning | error
    reordered: bool = False

    def __post_init__(self) -> None:
        # A notice often quotes the server: it holds only sanitised text, whoever shows it.
        if self.message:
            object.__setattr__(self, "message", one_line(self.message, 1000))
