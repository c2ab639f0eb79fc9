"""`SessionStream`: the resumable session socket of one conversation (`/sockets/session/{id}?after_seq=N`,
agent server ≥ 1.46), reconnecting with the same back-off, ping and stop rules as `EventStream`.

    stream = SessionStream(base_url, cid, session_key, after_seq=-1)
    async for item in stream:
        match item:
            case Connected(attempt): ...          # socket open, auth frame sent
            case SyncFrame(): ...                 # first frame: replay covers (from_seq, through_seq]
            case DurableFrame(seq, event): ...    # one stored event; `seq` = its index in the log
            case TransientFrame(event): ...       # published, not stored (`full_state` snapshots)
            case ItemStartedFrame() | DeltaFrame() | ItemAbortedFrame(): ...  # a streamed LLM output
            case SessionErrorFrame(): ...         # the server refused a frame we sent
            case Oversized(seq): ...              # event `seq` is too large for the socket: read it over REST
            case UnknownFrame(): ...              # a malformed frame (unknown frame types are left out)
            case Disconnected() | Stopped(): ...  # as for EventStream

The stream keeps the cursor itself: every reconnect asks for `after_seq` = the highest `seq` handed on, so a drop,
a slow-consumer close (1013 `slow_consumer`) or an oversized event (1013 `frame_too_large`, skipped: the consumer
reads it over REST) loses nothing and repeats nothing. The key goes in the first frame, never in the URL; the
socket is opened as the events socket is (`open_socket`: no redirect followed, the same TLS trust store).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

from tui.protocol import DurableFrame, SessionFrame, UnknownFrame, parse_session_frame

from .rest import normalize_base_url
from .stream import Connected, Disconnected, EventStream, Stopped

__all__ = ["Oversized", "SessionItem", "SessionStream", "decode_session_frame", "session_url"]

CLOSE_TRY_AGAIN = 1013  # `slow_consumer`, `frame_too_large`, too many connections


@dataclass(frozen=True, slots=True)
class Oversized:
    """Event `seq` is over the socket's frame limit: the socket skips it and resumes after it; read it over REST."""

    seq: int


SessionItem = Connected | SessionFrame | Oversized | Disconnected | Stopped


def session_url(base_url: str, conversation_id: str) -> str:
    """`http://host/prefix` → `ws://host/prefix/sockets/session/{id}` (`https` → `wss`), without the query."""
    base = normalize_base_url(base_url)
    scheme, rest = base.split("://", 1)
    ws_scheme = "wss" if scheme.lower() == "https" else "ws"
    return f"{ws_scheme}://{rest}/sockets/session/{quote(str(conversation_id), safe='')}"


def decode_session_frame(message: str | bytes) -> SessionFrame | None:
    """One envelope → a frame model; None for a frame `type` this client does not know (ignored, as the protocol
    asks). Never raises: anything malformed becomes an `UnknownFrame` with its `parse_error`."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        try:
            message = bytes(message).decode("utf-8")
        except UnicodeDecodeError:
            return UnknownFrame(type="(not UTF-8)", raw={}, parse_error="frame is not UTF-8 text")
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        return UnknownFrame(type="(not JSON)", raw={"text": message[:2000]}, parse_error="frame is not valid JSON")
    frame = parse_session_frame(data)
    if isinstance(frame, UnknownFrame) and frame.parse_error is None:
        return None
    return frame


class SessionStream(EventStream):
    """`after_seq`: None = live only (no history), -1 = the whole history, N = every event after seq N."""

    def __init__(
        self,
        base_url: str,
        conversation_id: str,
        session_key: str | None = None,
        *,
        after_seq: int | None = -1,
        **options: Any,
    ) -> None:
        super().__init__(base_url, conversation_id, session_key, **options)
        self.url = session_url(self.base_url, self.conversation_id)
        # The highest seq handed on (the resume point); None until one is known.
        self.last_seq: int | None = after_seq

    def __repr__(self) -> str:
        return "Session" + super().__repr__()

    def __aiter__(self) -> AsyncIterator[SessionItem]:  # type: ignore[override]
        return cast("AsyncIterator[SessionItem]", super().__aiter__())

    def _socket_url(self) -> str:
        return self.url if self.last_seq is None else f"{self.url}?after_seq={self.last_seq}"

    def _decode(self, message: str | bytes) -> Any:
        item = decode_session_frame(message)
        if isinstance(item, DurableFrame) and (self.last_seq is None or item.seq > self.last_seq):
            self.last_seq = item.seq
        return item

    async def _run(self) -> AsyncIterator[Any]:
        async for item in super()._run():
            if item is not None:  # unknown frame types are ignored
                yield item

    def _after_close(self, code: int, reason: str) -> list[Any]:
        # Replay and live frames come in seq order, so the event that did not fit is the one after the last.
        if code == CLOSE_TRY_AGAIN and reason == "frame_too_large" and self.last_seq is not None:
            self.last_seq += 1
            return [Oversized(self.last_seq)]
        return []
