"""Per-conversation logic without Textual: timeline, tokens, outbox, the conversation worker, the fleet.

Names load on first use (PEP 562): importing one part does not import the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from .capacity import create_when_room, retry_while_full
    from .changes import ChangeKind, SessionChange
    from .connection_state import ConnectionState
    from .conversation import Connection, ConversationSession, Protocol
    from .cursor import CursorStore
    from .fleet import Fleet, FleetChange, ServerEntry, ServerState
    from .outbox import ItemState, Outbox, OutboxItem, OutboxStore
    from .rows import ConvRow, ServerRow, conv_key, split_key
    from .timeline import MergeResult, Timeline
    from .tokens import OrphanedText, TokenBuffer
    from .turns import Delivery, DeliveryDecision, StatusDecision, Turn, TurnRules
    from .watchlist import Alert, Watch, WatchList

_WHERE = {
    "create_when_room": "capacity",
    "retry_while_full": "capacity",
    "ChangeKind": "changes",
    "SessionChange": "changes",
    "Connection": "conversation",
    "ConnectionState": "connection_state",
    "ConversationSession": "conversation",
    "Protocol": "conversation",
    "CursorStore": "cursor",
    "Fleet": "fleet",
    "FleetChange": "fleet",
    "ServerEntry": "fleet",
    "ServerState": "fleet",
    "ItemState": "outbox",
    "Outbox": "outbox",
    "OutboxItem": "outbox",
    "OutboxStore": "outbox",
    "MergeResult": "timeline",
    "Timeline": "timeline",
    "OrphanedText": "tokens",
    "TokenBuffer": "tokens",
    "Delivery": "turns",
    "DeliveryDecision": "turns",
    "StatusDecision": "turns",
    "Turn": "turns",
    "TurnRules": "turns",
    "Alert": "watchlist",
    "ConvRow": "rows",
    "ServerRow": "rows",
    "Watch": "watchlist",
    "WatchList": "watchlist",
    "conv_key": "rows",
    "split_key": "rows",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


__all__ = [
    "Alert",
    "ChangeKind",
    "Connection",
    "ConnectionState",
    "ConvRow",
    "ConversationSession",
    "CursorStore",
    "Delivery",
    "DeliveryDecision",
    "Fleet",
    "FleetChange",
    "ItemState",
    "MergeResult",
    "OrphanedText",
    "Outbox",
    "OutboxItem",
    "OutboxStore",
    "Protocol",
    "ServerEntry",
    "ServerRow",
    "ServerState",
    "SessionChange",
    "StatusDecision",
    "Timeline",
    "TokenBuffer",
    "Turn",
    "TurnRules",
    "Watch",
    "WatchList",
    "conv_key",
    "create_when_room",
    "retry_while_full",
    "split_key",
]
