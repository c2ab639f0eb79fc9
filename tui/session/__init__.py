"""Per-conversation logic without Textual: timeline, tokens, outbox, the conversation worker, the fleet."""

from .capacity import create_when_room, retry_while_full
from .changes import ChangeKind, SessionChange
from .conversation import Connection, ConnectionState, ConversationSession, Protocol
from .cursor import CursorStore
from .fleet import Fleet, FleetChange, ServerEntry, ServerState
from .outbox import ItemState, Outbox, OutboxItem, OutboxStore
from .timeline import MergeResult, Timeline
from .tokens import OrphanedText, TokenBuffer
from .turns import Delivery, DeliveryDecision, StatusDecision, Turn, TurnRules
from .watchlist import Alert, ConvRow, ServerRow, Watch, WatchList, conv_key, split_key

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
