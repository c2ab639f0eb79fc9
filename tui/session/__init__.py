"""Per-conversation logic without Textual: timeline, tokens, outbox, the conversation worker, the fleet."""

from .changes import ChangeKind, SessionChange
from .conversation import Connection, ConnectionState, ConversationSession, Turn
from .fleet import Fleet, FleetChange, ServerEntry, ServerState
from .outbox import ItemState, Outbox, OutboxItem, OutboxStore
from .timeline import MergeResult, Timeline
from .tokens import OrphanedText, TokenBuffer
from .watchlist import Alert, ConvRow, ServerRow, Watch, WatchList, conv_key, split_key

__all__ = [
    "Alert",
    "ChangeKind",
    "Connection",
    "ConnectionState",
    "ConvRow",
    "ConversationSession",
    "Fleet",
    "FleetChange",
    "ItemState",
    "MergeResult",
    "OrphanedText",
    "Outbox",
    "OutboxItem",
    "OutboxStore",
    "ServerEntry",
    "ServerRow",
    "ServerState",
    "SessionChange",
    "Timeline",
    "TokenBuffer",
    "Turn",
    "Watch",
    "WatchList",
    "conv_key",
    "split_key",
]
