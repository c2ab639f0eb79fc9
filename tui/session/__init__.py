"""Per-conversation logic without Textual: timeline, tokens, outbox, the conversation worker, the fleet."""

from .changes import ChangeKind, SessionChange
from .conversation import Connection, ConnectionState, ConversationSession, Protocol
from .cursor import CursorStore
from .fleet import Fleet, FleetChange, ServerEntry, ServerState
from .outbox import ItemState, Outbox, OutboxItem, OutboxStore
from .timeline import MergeResult, Timeline
from .tokens import OrphanedText, TokenBuffer
from .turns import Delivery, DeliveryDecision, StatusDecision, Turn, TurnRules

__all__ = [
    "ChangeKind",
    "Connection",
    "ConnectionState",
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
    "ServerState",
    "SessionChange",
    "StatusDecision",
    "Timeline",
    "TokenBuffer",
    "Turn",
    "TurnRules",
]
