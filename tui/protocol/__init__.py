"""Wire models only: pydantic v2, no I/O, no Textual."""

from .conversation import ConversationInfo, ConversationPage, ConversationState, InitStatus, ServerInfo, Success
from .events import (
    EVENT_CLASSES,
    SEARCH_KIND_PATHS,
    ActionEvent,
    AgentErrorEvent,
    Condensation,
    ConversationErrorEvent,
    ConversationStateUpdateEvent,
    ErrorClassification,
    Event,
    InterruptEvent,
    MessageEvent,
    ObservationEvent,
    PauseEvent,
    ServerErrorEvent,
    StreamingDeltaEvent,
    SystemPromptEvent,
    UnknownEvent,
    UserRejectObservation,
    parse_event,
    text_of,
)
from .requests import ConfirmationResponseRequest, InitRequest, SendMessageRequest, StartConversationRequest, TextContent
from .stats import UsageTotals
from .status import ExecutionStatus

__all__ = [name for name in dir() if not name.startswith("_")]
