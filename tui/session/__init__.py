"""Per-conversation logic without Textual: timeline, tokens, outbox, the conversation worker, the fleet."""

from .changes import ChangeKind, SessionChange
from .conversation import Connection, ConnectionState, ConversationSession
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
    "ServerEntry",
    "ServerState",
    "SessionChange",
    "StatusDecision",
    "Timeline",
    "TokenBuffer",
    "Turn",
    "TurnRules",
]
