"""I/O only: typed errors, the REST client (httpx) and the event stream (websockets)."""

from .errors import (
    AgentServerError,
    Conflict,
    Dormant,
    InvalidRequest,
    NotFound,
    ServerFailure,
    ServerFull,
    Unauthorized,
    Unreachable,
    describe_transport_error,
    display_url,
    error_from_response,
    summarize_validation,
)
from .rest import BATCH_GET_MAX, PAGE_LIMIT, AgentClient, normalize_base_url
from .session_stream import Oversized, SessionItem, SessionStream, decode_session_frame, session_url
from .stream import Connected, Disconnected, EventStream, Frame, Stopped, StreamItem, decode_frame, events_url

__all__ = [
    "BATCH_GET_MAX",
    "PAGE_LIMIT",
    "AgentClient",
    "AgentServerError",
    "Conflict",
    "Connected",
    "Disconnected",
    "Dormant",
    "EventStream",
    "Frame",
    "InvalidRequest",
    "NotFound",
    "Oversized",
    "ServerFailure",
    "ServerFull",
    "SessionItem",
    "SessionStream",
    "Stopped",
    "StreamItem",
    "Unauthorized",
    "Unreachable",
    "decode_frame",
    "decode_session_frame",
    "describe_transport_error",
    "display_url",
    "error_from_response",
    "events_url",
    "normalize_base_url",
    "session_url",
    "summarize_validation",
]
