"""I/O only: typed errors, the REST client (httpx) and the event stream (websockets).

Names load on first use (PEP 562): importing one part does not import the others."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.lazy_exports import lazy_getattr

if TYPE_CHECKING:
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

_WHERE = {
    "AgentServerError": "errors",
    "Conflict": "errors",
    "Dormant": "errors",
    "InvalidRequest": "errors",
    "NotFound": "errors",
    "ServerFailure": "errors",
    "ServerFull": "errors",
    "Unauthorized": "errors",
    "Unreachable": "errors",
    "describe_transport_error": "errors",
    "display_url": "errors",
    "error_from_response": "errors",
    "summarize_validation": "errors",
    "BATCH_GET_MAX": "rest",
    "PAGE_LIMIT": "rest",
    "AgentClient": "rest",
    "normalize_base_url": "rest",
    "Oversized": "session_stream",
    "SessionItem": "session_stream",
    "SessionStream": "session_stream",
    "decode_session_frame": "session_stream",
    "session_url": "session_stream",
    "Connected": "stream",
    "Disconnected": "stream",
    "EventStream": "stream",
    "Frame": "stream",
    "Stopped": "stream",
    "StreamItem": "stream",
    "decode_frame": "stream",
    "events_url": "stream",
}


__getattr__ = lazy_getattr(__name__, _WHERE)


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
