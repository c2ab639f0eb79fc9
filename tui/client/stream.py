"""`EventStream`: the live event socket of one conversation (`/sockets/events/{id}`), reconnecting forever
until a fatal close, `close()`, or cancellation.

    stream = EventStream(base_url, cid, session_key)
    async for item in stream:
        match item:
            case Connected(attempt): ...          # socket open and auth frame sent (attempt 1 = first connection)
            case Frame(event, raw): ...           # one server frame, parsed; malformed frames arrive as UnknownEvent
            case Disconnected(reason, retry_in, attempt): ...   # about to sleep retry_in seconds, then reconnect
            case Stopped(reason, error): ...      # fatal (bad key, conversation gone); the iteration then ends

The key is never put in the URL or in a header: it goes in the first frame (`{"type": "auth", ...}`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.client import connect as _Connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from tui.protocol import Event, UnknownEvent, parse_event
from tui.sanitize import one_line, register_secret

from .errors import (
    AgentServerError,
    Dormant,
    NotFound,
    Unauthorized,
    Unreachable,
    describe_transport_error,
    display_url,
    dormant_message,
    unauthorized_message,
)
from .rest import normalize_base_url
from .tls import trust_context

__all__ = [
    "MAX_FRAME_BYTES",
    "Connected",
    "Disconnected",
    "EventStream",
    "Frame",
    "Stopped",
    "StreamItem",
    "events_url",
    "handshake_refusal",
    "open_socket",
]

# The websockets library logs every frame at DEBUG, the auth frame (and so the key) included. Its records go
# to a logger of ours that never emits DEBUG, whatever the root logger's level.
_WS_LOGGER = logging.getLogger("tui.client.websocket")
_WS_LOGGER.setLevel(logging.INFO)

CLOSE_AUTH_FAILED = 4001
CLOSE_NOT_FOUND = 4004
# full_state and system-prompt frames run to a few hundred KB; anything far larger is refused (close 1009) and
# the event comes back through REST (whose body size is capped too) when the stream reconnects.
MAX_FRAME_BYTES = 8 * 1024 * 1024
DORMANT_RETRY = 5.0  # seconds between socket attempts while the server waits for `init` (capped by max_backoff)


@dataclass(frozen=True)
class Connected:
    """The socket is open and the auth frame (if any) was sent. `attempt` counts successful connections of this
    stream: 1 is the first, anything higher is a reconnect (time to reconcile over REST)."""

    attempt: int


@dataclass(frozen=True)
class Frame:
    """One frame from the server. `raw` is the decoded JSON object (for a malformed frame: what could be kept)."""

    event: Event
    raw: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Disconnected:
    """The socket dropped or could not be opened; the stream sleeps `retry_in` seconds, then retries.
    `attempt` is the number of consecutive failures (1 after the first drop). `error` says why when it is
    something a person can act on: `Dormant` for a 1.58 server that refuses sockets until `init` (the stream
    keeps retrying slowly and resumes by itself once the server is initialised)."""

    reason: str
    retry_in: float
    attempt: int
    error: AgentServerError | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", one_line(self.reason, 300))  # it may quote the server


@dataclass(frozen=True)
class Stopped:
    """A fatal condition (wrong key: `Unauthorized`; conversation gone: `NotFound`). The iteration ends after it."""

    reason: str
    error: AgentServerError

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", one_line(self.reason, 1000))


StreamItem = Connected | Frame | Disconnected | Stopped


def events_url(base_url: str, conversation_id: str) -> str:
    """`http://host/prefix` → `ws://host/prefix/sockets/events/{id}` (`https` → `wss`)."""
    base = normalize_base_url(base_url)
    scheme, rest = base.split("://", 1)
    ws_scheme = "wss" if scheme.lower() == "https" else "ws"
    return f"{ws_scheme}://{rest}/sockets/events/{quote(str(conversation_id), safe='')}"


def decode_frame(message: str | bytes) -> Frame:
    """Parse one frame. Never raises: bad UTF-8, bad JSON or a non-object become a Frame with an UnknownEvent."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        try:
            text = bytes(message).decode("utf-8")
        except UnicodeDecodeError as exc:
            raw = {"binary": bytes(message[:200]).hex()}
            return Frame(
                UnknownEvent(kind="(not UTF-8)", raw=raw, parse_error=f"frame is not UTF-8 text: {exc.reason}"), raw
            )
    else:
        text = message
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raw = {"text": text[:2000]}
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return Frame(UnknownEvent(kind="(not JSON)", raw=raw, parse_error=f"frame is not valid JSON: {problem}"), raw)
    event = parse_event(data)
    raw = data if isinstance(data, dict) else {"value": data}
    return Frame(event, raw)


def _refuse_redirect(exc: Exception) -> Exception | str:
    return exc  # never a new URI: the auth frame (and so the key) would go to wherever it points


REDIRECT_STATUSES = frozenset({300, 301, 302, 303, 307, 308})


def open_socket(url: str, **options: Any) -> Any:
    """Open a WebSocket to one of our servers (await the result): no redirect followed, the shared TLS trust
    store for `wss://`, frames capped at `MAX_FRAME_BYTES`, the library's logs kept away from DEBUG (they would
    show the auth frame). `options` are `websockets.connect` options (timeouts, pings)."""
    options.setdefault("max_size", MAX_FRAME_BYTES)
    options.setdefault("user_agent_header", "openhands-tui")
    options.setdefault("logger", _WS_LOGGER)
    if url.startswith("wss://"):
        options.setdefault("ssl", trust_context())
    opener = connect(url, **options)
    if isinstance(opener, _Connect):
        opener.process_redirect = _refuse_redirect  # type: ignore[method-assign]
    return opener


def handshake_refusal(exc: InvalidStatus) -> str:
    """Why a socket handshake answered with a status other than 101, for people."""
    status = exc.response.status_code
    if status in REDIRECT_STATUSES:
        return f"the server redirected the socket (HTTP {status}); redirects are not followed, so the key stays with its server"
    return f"the server refused the socket with HTTP {status}"


def _close_info(exc: ConnectionClosed) -> tuple[int, str]:
    if exc.rcvd is not None:
        return exc.rcvd.code, exc.rcvd.reason
    if exc.sent is not None:
        return exc.sent.code, exc.sent.reason
    return 1006, ""


class EventStream:
    def __init__(
        self,
        base_url: str,
        conversation_id: str,
        session_key: str | None = None,
        *,
        ping_interval: float | None = 5.0,
        ping_timeout: float | None = 10.0,
        max_backoff: float = 30.0,
        open_timeout: float = 10.0,
        initial_backoff: float = 1.0,
        close_timeout: float = 2.0,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.conversation_id = str(conversation_id)
        self.url = events_url(self.base_url, self.conversation_id)
        self._session_key = session_key or None
        register_secret(self._session_key)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.initial_backoff = initial_backoff
        self.close_timeout = close_timeout
        self._ws: ClientConnection | None = None
        self._closing = asyncio.Event()
        self._iterating = False

    def __repr__(self) -> str:
        key = "'***'" if self._session_key else "None"
        return f"EventStream({display_url(self.url)!r}, session_key={key})"

    # ------------------------------------------------------------------------------------------ public

    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def closed(self) -> bool:
        return self._closing.is_set()

    async def send(self, obj: dict[str, Any]) -> None:
        """Send one JSON frame on the open socket; `Unreachable` if there is none right now."""
        ws = self._ws
        if ws is None:
            raise Unreachable(f"cannot reach {display_url(self.url)}: the event socket is not connected")
        try:
            await ws.send(json.dumps(obj))
        except ConnectionClosed as exc:
            code, reason = _close_info(exc)
            raise Unreachable(
                f"cannot reach {display_url(self.url)}: the event socket closed ({code} {reason})".rstrip()
            ) from None

    async def close(self) -> None:
        """End the iteration cleanly: the `async for` loop finishes without a `Stopped` item."""
        self._closing.set()
        ws = self._ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), timeout=self.close_timeout + 1)
            except (TimeoutError, OSError, ConnectionClosed):
                pass

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        if self._iterating:
            raise RuntimeError("an EventStream can only be iterated by one consumer")
        self._iterating = True
        return self._run()

    # ------------------------------------------------------------------------------------------ internals

    def _backoff(self, failures: int) -> float:
        base = min(self.max_backoff, self.initial_backoff * (2 ** max(0, failures - 1)))
        return round(min(self.max_backoff, base * random.uniform(0.8, 1.2)), 3)

    async def _until_closing(self, aw: Any) -> tuple[bool, Any]:
        """Await `aw` unless `close()` is called first. Returns (finished, result); exceptions propagate."""
        task = asyncio.ensure_future(aw)
        closer = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({task, closer}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            closer.cancel()
            raise
        closer.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        try:
            await task
        except BaseException:
            pass
        return False, None

    def _fatal_for_id(self) -> Stopped | None:
        try:
            uuid.UUID(self.conversation_id)
        except ValueError:
            err = NotFound(
                f"conversation {self.conversation_id!r} does not exist on {display_url(self.base_url)} "
                "(not a conversation id)"
            )
            return Stopped(err.message, err)
        return None

    async def _dormant_error(self) -> Dormant | None:
        """A 403 at the handshake is a wrong key, or (1.58) a dormant server refusing every socket until `init`:
        ask `GET /api/init`. `Dormant` when it says so; None (a key problem) when it does not or cannot tell."""
        from .rest import AgentClient

        try:
            async with AgentClient(self.base_url, self._session_key, timeout=self.open_timeout) as client:
                state = await client.init_status()
        except Dormant as exc:
            return exc
        except (AgentServerError, ValueError):
            return None
        if state is None or state.state == "ready":
            return None
        return Dormant(dormant_message(self.base_url, state.state), 403, state.state)

    async def _open(self) -> ClientConnection:
        return await open_socket(
            self._socket_url(),
            open_timeout=self.open_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            close_timeout=self.close_timeout,
        )

    # Hooks for a socket with another URL or frame format (the session socket); see `session_stream.py`.
    def _socket_url(self) -> str:
        return self.url

    def _decode(self, message: str | bytes) -> Any:
        return decode_frame(message)

    def _after_close(self, code: int, reason: str) -> list[Any]:
        """Items to hand on after the socket closed with `code` (before the back-off)."""
        return []

    async def _run(self) -> AsyncIterator[Any]:
        stopped = self._fatal_for_id()
        if stopped is not None:
            yield stopped
            return
        where = display_url(self.base_url)
        failures = 0
        connections = 0
        while not self._closing.is_set():
            reason: str
            dormant: Dormant | None = None
            # -------------------------------------------------------------- open
            try:
                finished, ws = await self._until_closing(self._open())
            except InvalidStatus as exc:
                status = exc.response.status_code
                dormant = await self._dormant_error() if status == 403 else None
                if status in (401, 403) and dormant is None:
                    err: AgentServerError = Unauthorized(unauthorized_message(self.base_url), status)
                    yield Stopped(err.message, err)
                    return
                reason = dormant.message if dormant is not None else handshake_refusal(exc)
                ws = None
                finished = True
            except InvalidURI as exc:
                err = Unreachable(f"cannot reach {where}: invalid socket URL ({exc})")
                yield Stopped(err.message, err)
                return
            except (TimeoutError, OSError, InvalidHandshake, ConnectionClosed) as exc:
                if isinstance(exc, ConnectionClosed):
                    code, why = _close_info(exc)
                    reason = f"closed during the handshake ({code} {why})".rstrip()
                elif isinstance(exc, asyncio.TimeoutError):
                    reason = "timed out while connecting"
                else:
                    reason = describe_transport_error(exc)
                ws = None
                finished = True
            if not finished:
                return  # close() was called while connecting
            if ws is not None and self._closing.is_set():  # connected and closed at the same moment
                await ws.close()
                return
            if ws is not None:
                # ---------------------------------------------------------- connected
                got_frame = False
                self._ws = ws
                try:
                    if self._session_key:
                        await ws.send(json.dumps({"type": "auth", "session_api_key": self._session_key}))
                    connections += 1
                    yield Connected(connections)
                    while True:
                        message = await ws.recv()
                        got_frame = True
                        yield self._decode(message)
                except ConnectionClosed as exc:
                    code, why = _close_info(exc)
                    if self._closing.is_set():
                        return
                    if code == CLOSE_AUTH_FAILED:
                        err = Unauthorized(unauthorized_message(self.base_url), None, why or None)
                        yield Stopped(err.message, err)
                        return
                    if code == CLOSE_NOT_FOUND:
                        err = NotFound(
                            f"conversation {self.conversation_id} was not found on {where}; it may have been deleted",
                            None,
                            why or None,
                        )
                        yield Stopped(err.message, err)
                        return
                    reason = f"connection closed ({code}{' ' + why if why else ''})"
                    for extra in self._after_close(code, why):
                        yield extra
                except OSError as exc:
                    reason = describe_transport_error(exc)
                except (asyncio.CancelledError, GeneratorExit):
                    # Cancelled, or the iterator was abandoned: there may be no loop turn left to run a closing
                    # handshake in, so drop the connection at once (a coroutine would never be awaited).
                    self._ws = None
                    ws.transport.abort()
                    raise
                finally:
                    self._ws = None
                    if ws.state.name != "CLOSED" and not ws.transport.is_closing():
                        try:
                            await asyncio.wait_for(ws.close(), timeout=self.close_timeout + 1)
                        except BaseException:
                            pass
                if got_frame:
                    failures = 0
            if self._closing.is_set():
                return
            # -------------------------------------------------------------- back off
            failures += 1
            delay = self._backoff(failures)
            if dormant is not None:
                delay = max(delay, min(DORMANT_RETRY, self.max_backoff))
            yield Disconnected(reason, delay, failures, dormant)
            try:
                await asyncio.wait_for(self._closing.wait(), timeout=delay)
                return  # close() during the sleep
            except TimeoutError:
                pass
