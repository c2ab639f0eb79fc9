"""`SessionStream`: the resumable session socket of one conversation (`/sockets/session/{id}?after_seq=N`,
agent server ≥ 1.46), reconnecting with the same back-off, ping and stop rules as `EventStream`.

    stream = SessionStream(base_url, cid, session_key, after_seq=-1)
    async for item in stream:
        match item:
            case Connected(attempt): ...                 # socket open, auth frame sent
            case Synced(from_seq, through_seq): ...      # first frame: replay covers (from_seq, through_seq]
            case Durable(seq, event): ...                # one stored event; `seq` = its index in the log
            case Transient(event): ...                   # published, not stored (`full_state` snapshots)
            case ItemStarted() | Delta() | ItemAborted(): ...   # a streamed LLM output, keyed by the final event id
            case SessionError(code, detail): ...         # the server refused a frame we sent
            case Oversized(seq): ...                     # event `seq` is too large for the socket: read it over REST
            case Frame(event): ...                       # a malformed frame (an UnknownEvent)
            case Disconnected() | Stopped(): ...         # as for EventStream

The stream keeps the cursor itself: every reconnect asks for `after_seq` = the highest `seq` handed on, so a drop,
a slow-consumer close (1013 `slow_consumer`) or an oversized event (1013 `frame_too_large`, skipped: the consumer
reads it over REST) loses nothing and repeats nothing. The key goes in the first frame, never in the URL; a
redirect is not followed (the auth frame would go to wherever it points).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from tui.protocol import Event, UnknownEvent, parse_event

from .rest import normalize_base_url
from .stream import (
    _WS_LOGGER,
    MAX_FRAME_BYTES,
    Connected,
    Disconnected,
    EventStream,
    Frame,
    Stopped,
    decode_frame,
)

__all__ = [
    "Delta",
    "Durable",
    "ItemAborted",
    "ItemStarted",
    "Oversized",
    "SessionError",
    "SessionItem",
    "SessionStream",
    "Synced",
    "Transient",
    "session_url",
]

CLOSE_TRY_AGAIN = 1013  # `slow_consumer`, `frame_too_large`, too many connections


@dataclass(frozen=True, slots=True)
class Synced:
    """The first frame after auth. History up to `through_seq` (None: the log is empty) is replayed first."""

    from_seq: int | None
    through_seq: int | None


@dataclass(frozen=True, slots=True)
class Durable:
    seq: int
    event: Event


@dataclass(frozen=True, slots=True)
class Transient:
    event: Event


@dataclass(frozen=True, slots=True)
class ItemStarted:
    item_id: str
    attempt: int
    anchor_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    item_id: str
    attempt: int
    order: int
    kind: str  # "text" | "reasoning"
    content: str


@dataclass(frozen=True, slots=True)
class ItemAborted:
    item_id: str
    attempt: int
    reason: str  # "cancelled" (interrupt), "no_durable_event", or an exception class name


@dataclass(frozen=True, slots=True)
class SessionError:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Oversized:
    """Event `seq` is over the socket's frame limit: the socket skips it and resumes after it; read it over REST."""

    seq: int
    reason: str = field(default="frame_too_large")


SessionItem = (
    Connected
    | Synced
    | Durable
    | Transient
    | ItemStarted
    | Delta
    | ItemAborted
    | SessionError
    | Oversized
    | Frame
    | Disconnected
    | Stopped
)


def session_url(base_url: str, conversation_id: str) -> str:
    """`http://host/prefix` → `ws://host/prefix/sockets/session/{id}` (`https` → `wss`), without the query."""
    base = normalize_base_url(base_url)
    scheme, rest = base.split("://", 1)
    ws_scheme = "wss" if scheme.lower() == "https" else "ws"
    return f"{ws_scheme}://{rest}/sockets/session/{quote(str(conversation_id), safe='')}"


class _NoRedirect(connect):
    """`connect` that treats a redirect as a refusal: the auth frame must only go to the server we were given."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _malformed(raw: dict[str, Any], problem: str) -> Frame:
    kind = str(raw.get("type", "(no type)"))[:80]
    return Frame(UnknownEvent(kind=f"session frame {kind}", raw=raw, parse_error=problem), raw)


def decode_session_frame(message: str | bytes) -> SessionItem | None:
    """One envelope → a typed item; None for a frame type this client does not know (ignored, as the protocol
    asks). Never raises: anything malformed becomes a `Frame` holding an `UnknownEvent`."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        return decode_frame(message)  # not text: reported as malformed
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        return decode_frame(message)
    if not isinstance(data, dict):
        return decode_frame(message)
    kind = data.get("type")
    if kind == "durable":
        seq, event = _int(data.get("seq")), data.get("event")
        if seq is None or seq < 0 or not isinstance(event, dict):
            return _malformed(data, "a durable frame without a valid seq and event")
        return Durable(seq, parse_event(event))
    if kind == "transient":
        event = data.get("event")
        if not isinstance(event, dict):
            return _malformed(data, "a transient frame without an event")
        return Transient(parse_event(event))
    if kind in ("item_started", "delta", "item_aborted"):
        item_id, attempt = data.get("item_id"), _int(data.get("attempt"))
        if not isinstance(item_id, str) or not item_id or attempt is None:
            return _malformed(data, f"a {kind} frame without item_id and attempt")
        if kind == "item_started":
            return ItemStarted(item_id, attempt, _int(data.get("anchor_seq")))
        if kind == "item_aborted":
            return ItemAborted(item_id, attempt, str(data.get("reason") or ""))
        order, content = _int(data.get("order")), data.get("content")
        if order is None or not isinstance(content, str):
            return _malformed(data, "a delta frame without order and content")
        return Delta(item_id, attempt, order, str(data.get("kind") or "text"), content)
    if kind == "sync":
        return Synced(_int(data.get("from_seq")), _int(data.get("through_seq")))
    if kind == "error":
        return SessionError(str(data.get("code") or ""), str(data.get("detail") or ""))
    return None


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
        return super().__aiter__()

    def _socket_url(self) -> str:
        return self.url if self.last_seq is None else f"{self.url}?after_seq={self.last_seq}"

    async def _open(self) -> ClientConnection:
        return await _NoRedirect(
            self._socket_url(),
            open_timeout=self.open_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=self.close_timeout,
            max_size=MAX_FRAME_BYTES,
            user_agent_header="openhands-tui",
            logger=_WS_LOGGER,
        )

    def _decode(self, message: str | bytes) -> Any:
        item = decode_session_frame(message)
        if isinstance(item, Durable) and (self.last_seq is None or item.seq > self.last_seq):
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
