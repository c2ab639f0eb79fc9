"""`AgentClient`: the REST side of one agent server, over one `httpx.AsyncClient`.

Retry policy (one retry, never more)
------------------------------------
The real server drops its keep-alive connection after an unhandled 500, so the *next* request on that pooled
connection dies with `httpx.ReadError` / `RemoteProtocolError` before any response arrives. We therefore retry
a request once, on a fresh connection, when it failed with a transport error (`ReadError`, `WriteError`,
`RemoteProtocolError`, `CloseError`) **before the response headers arrived** (watched with httpcore's `trace`
extension), and:

- for idempotent calls (GET, PATCH of a title): always, under those conditions;
- for POSTs whose repetition is harmless (run, pause, interrupt, confirmation replies, and a create that
  carries its own `conversation_id`, so a repeat answers 200 with the same conversation): only when the
  request went out on a **reused** pooled connection (no new TCP connect during the attempt);
- never for sending a message or deleting: a reused connection can also die *after* the server took the
  request (a dropped link, a proxy), and a repeat would then send the message twice. The session decides
  instead, by looking for the message in the server's history before it sends again.

Connect errors (refused, DNS, TLS) and timeouts are never retried; they become `Unreachable` at once
(the fleet's poller retries on its own schedule).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from tui.protocol import (
    SEARCH_KIND_PATHS,
    ChildConversation,
    ConfirmationResponseRequest,
    ConversationInfo,
    ConversationPage,
    CreateChildRequest,
    Event,
    GitChange,
    GitDiff,
    InitRequest,
    InitStatus,
    RuntimeInfo,
    SendMessageRequest,
    ServerInfo,
    StartConversationRequest,
    ToolCatalog,
    parse_event,
)
from tui.sanitize import SECRET_FIELDS, one_line, register_secret

from .errors import (
    AgentServerError,
    InvalidRequest,
    NotFound,
    ServerFailure,
    Unreachable,
    display_url,
    error_from_response,
    unreachable,
)
from .tls import trust_context

if TYPE_CHECKING:
    from .session_stream import SessionStream
    from .stream import EventStream

__all__ = ["BATCH_GET_MAX", "PAGE_LIMIT", "AgentClient", "normalize_base_url"]

PAGE_LIMIT = 100  # the server asserts limit <= 100
BATCH_GET_MAX = 99  # the server asserts len(ids) < 100
# Bounds against a server whose answers never end: pages per listing (10,000 conversations; 500,000 events),
# bytes per response body (read as a stream and abandoned past the cap).
MAX_CONVERSATION_PAGES = 100
MAX_EVENT_PAGES = 5_000
MAX_BODY_BYTES = 32 * 1024 * 1024
FULL_FRESH = 120.0  # seconds a 429 keeps a server marked full when nothing asks it again

_RETRYABLE = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.CloseError)

M = TypeVar("M", bound=BaseModel)


def normalize_base_url(base_url: str) -> str:
    """`host:8000` → `http://host:8000`; trailing slashes dropped; only http/https accepted (ValueError)."""
    url = (base_url or "").strip()
    if not url:
        raise ValueError("the server URL is empty")
    if "://" not in url:
        url = "http://" + url
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"the server URL must start with http:// or https://, not {scheme}://")
    return url.rstrip("/")


def _check_header_secret(value: str, what: str) -> str:
    """Keys travel in a header: printable ASCII only. The error never repeats the value."""
    if not isinstance(value, str) or not value or any(not (32 < ord(ch) < 127) for ch in value):
        raise ValueError(f"the {what} is empty or contains characters that cannot be sent in an HTTP header")
    return value


def _register_secret_fields(value: Any, depth: int = 0) -> None:
    if depth > 16:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and str(key).lower() in SECRET_FIELDS:
                register_secret(item)
            else:
                _register_secret_fields(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _register_secret_fields(item, depth + 1)


class _Attempt:
    """Watches one attempt through httpcore's trace hook: did it open a new connection, did headers arrive."""

    def __init__(self) -> None:
        self.connected_new = False
        self.got_headers = False

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        if name.endswith(("connect_tcp.started", "start_tls.started")):
            self.connected_new = True
        elif name.endswith("receive_response_headers.complete"):
            self.got_headers = True


class AgentClient:
    """Typed REST calls to one agent server. Use `async with AgentClient(url, key) as client:` or `aclose()`."""

    def __init__(
        self,
        base_url: str,
        session_key: str | None = None,
        *,
        timeout: float = 10.0,
        long_timeout: float = 600.0,
        deadline: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._session_key = _check_header_secret(session_key, "session key") if session_key else None
        register_secret(self._session_key)  # an echo of it from the server is masked wherever it is shown
        self.timeout = timeout
        self.long_timeout = long_timeout
        # A whole request (connect, headers, body) ends by this many seconds, however slowly the server drips
        # bytes (each of which would reset httpx's read timeout). Long calls get the long timeout.
        self.deadline = deadline if deadline is not None else 3 * timeout
        self.max_body = max_body
        # When this server last answered 429 (monotonic), cleared by the next POST it accepted: what the list shows
        # as "full" (1.58 does not publish its run limit, only refuses past it).
        self.last_full: float | None = None
        headers = {"Accept": "application/json", "User-Agent": "openhands-tui"}
        if self._session_key:
            headers["X-Session-API-Key"] = self._session_key
        self._short = httpx.Timeout(timeout)
        self._long = httpx.Timeout(timeout, read=long_timeout, pool=long_timeout)
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=self._short,
            transport=transport,
            follow_redirects=False,  # a redirect would carry the key's header to wherever it points
            verify=trust_context(),
        )

    # ----------------------------------------------------------------------------------------- lifecycle

    @property
    def has_session_key(self) -> bool:
        return self._session_key is not None

    def is_full(self, within: float = FULL_FRESH) -> bool:
        """The server refused a run for lack of room within the last `within` seconds, and took no POST since."""
        return self.last_full is not None and time.monotonic() - self.last_full < within

    @property
    def display_url(self) -> str:
        return display_url(self.base_url)

    def __repr__(self) -> str:
        key = "'***'" if self._session_key else "None"
        return f"AgentClient({self.display_url!r}, session_key={key})"

    async def __aenter__(self) -> AgentClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    def event_stream(self, conversation_id: str, **options: Any) -> EventStream:
        """An `EventStream` for one conversation of this server, with this client's key (options: see EventStream)."""
        from .stream import EventStream

        return EventStream(self.base_url, conversation_id, self._session_key, **options)

    # ----------------------------------------------------------------------------------------- plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        long: bool = False,
        idempotent: bool | None = None,
        repeatable: bool = True,
        route_kind: str = "api",
        subject: str | None = None,
        accept: Iterable[int] = (),
    ) -> httpx.Response:
        """Send one request (with at most one retry, see the module doc) and return a 2xx response, or one
        whose status is in `accept`; any other status raises the mapped `AgentServerError`."""
        if self._http.is_closed:
            raise Unreachable(f"the connection to {self.display_url} has been closed")
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "OPTIONS")
        timeout = self._long if long else self._short
        deadline = max(self.long_timeout, self.deadline) if long else self.deadline
        accept = tuple(accept)
        for attempt_no in (1, 2):
            attempt = _Attempt()
            try:
                request = self._http.build_request(
                    method,
                    path.lstrip("/"),
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=timeout,
                    extensions={"trace": attempt},
                )
                async with asyncio.timeout(deadline):
                    resp = await self._http.send(request, stream=True)
                    try:
                        await self._read_capped(resp)
                    finally:
                        await resp.aclose()
            except TimeoutError:
                raise Unreachable(
                    f"cannot reach {self.display_url}: no complete answer within {deadline:g} s"
                ) from None
            except _RETRYABLE as exc:
                retry_ok = not attempt.got_headers and (idempotent or (repeatable and not attempt.connected_new))
                if attempt_no == 1 and retry_ok:
                    continue
                raise unreachable(self.base_url, exc) from exc
            except httpx.TransportError as exc:  # connect errors, timeouts, proxy / protocol errors
                raise unreachable(self.base_url, exc) from exc
            except httpx.InvalidURL as exc:
                raise Unreachable(f"cannot reach {self.display_url}: invalid URL ({exc})") from exc
            except httpx.DecodingError as exc:  # e.g. a body labelled gzip that is not
                raise ServerFailure(
                    f"{self.display_url} sent a response body that could not be decoded ({exc})"
                ) from exc
            except httpx.HTTPError as exc:  # anything else httpx raises is still the server's or the link's fault
                raise unreachable(self.base_url, exc) from exc
            if resp.status_code == 429:
                self.last_full = time.monotonic()
            elif method == "POST" and resp.is_success:
                self.last_full = None
            if resp.is_success or resp.status_code in accept:
                return resp
            raise error_from_response(resp, route_kind=route_kind, base_url=self.base_url, subject=subject)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _read_capped(self, resp: httpx.Response) -> None:
        """Read the body as a stream, refusing it past `max_body` bytes (a 200 MB answer is not parsed)."""
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large(resp)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large(resp)
            chunks.append(chunk)
        resp._content = b"".join(chunks)  # what `Response.aread()` sets; the body is then read as usual

    def _too_large(self, resp: httpx.Response) -> ServerFailure:
        return ServerFailure(
            f"{self.display_url} sent an answer to {resp.request.method} {resp.request.url.path} larger than "
            f"{self.max_body // (1024 * 1024)} MB; it was not read",
            resp.status_code,
        )

    def _json(self, resp: httpx.Response) -> Any:
        try:
            return resp.json()
        except Exception as exc:
            snippet = f"“{one_line(resp.text[:400], 80)}”" if resp.content else "(empty body)"
            raise ServerFailure(
                f"{self.display_url} sent a response to {resp.request.method} {resp.request.url.path} that is not "
                f"JSON: {snippet}",
                resp.status_code,
                type(exc).__name__,
            ) from None

    def _bad_shape(self, resp: httpx.Response, expected: str, problem: str = "") -> ServerFailure:
        extra = f" ({problem})" if problem else ""
        return ServerFailure(
            f"{self.display_url} sent an unexpected answer to {resp.request.method} {resp.request.url.path}: "
            f"expected {expected}{extra}; is this an OpenHands agent server of a supported version?",
            resp.status_code,
            problem or None,
        )

    def _model(self, resp: httpx.Response, model: type[M], data: Any = None, *, use_data: bool = False) -> M:
        value = data if use_data else self._json(resp)
        try:
            return model.model_validate(value)
        except (ValidationError, TypeError, ValueError) as exc:
            first = exc.errors()[0] if isinstance(exc, ValidationError) and exc.errors() else None
            problem = (
                f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg')}" if first else str(exc)[:120]
            )
            raise self._bad_shape(resp, f"a {model.__name__}", problem) from None

    def _int(self, resp: httpx.Response) -> int:
        value = self._json(resp)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad_shape(resp, "an integer", f"got {type(value).__name__}")
        return value

    def _success(self, resp: httpx.Response, *, subject: str) -> None:
        """`{"success": true}` bodies. `{"success": false}` (PATCH on an unknown conversation) is NotFound."""
        value = self._json(resp)
        if isinstance(value, dict) and value.get("success") is False:
            raise NotFound(
                f"{subject} was not found on {self.display_url}; it may have been deleted", resp.status_code, value
            )

    @staticmethod
    def _conv_path(cid: str) -> str:
        cid = str(cid).strip()
        if not cid or "/" in cid or "?" in cid or "#" in cid:
            raise ValueError(f"not a conversation id: {cid!r}")
        return f"api/conversations/{cid}"

    @staticmethod
    def _subject(cid: str) -> str:
        return f"conversation {cid}"

    # ----------------------------------------------------------------------------------------- server

    async def health(self) -> bool:
        """True when `/health` answers 2xx, False for any HTTP error status; raises `Unreachable` when the
        server cannot be reached at all (so callers can tell 'down' from 'unhealthy')."""
        try:
            await self._request("GET", "health", route_kind="server")
        except Unreachable:
            raise
        except AgentServerError:
            return False
        return True

    async def server_info(self) -> ServerInfo:
        resp = await self._request("GET", "server_info", route_kind="server")
        return self._model(resp, ServerInfo)

    async def init_status(self) -> InitStatus | None:
        """The deferred-init state, or None on a normal server (its `/api/init` is a 404)."""
        resp = await self._request("GET", "api/init", route_kind="init", accept=(404,))
        if resp.status_code == 404:
            return None
        return self._model(resp, InitStatus)

    async def init(self, init_key: str, session_keys: list[str] | None = None) -> InitStatus:
        """Wake a dormant server (`POST /api/init`, header `X-Init-API-Key`), optionally giving it session keys.
        The client keeps using the session key it was built with; make a new client for a new key."""
        for secret in (init_key, *(session_keys or ())):
            register_secret(secret)
        body = InitRequest(session_api_keys=list(session_keys) if session_keys is not None else None).to_wire()
        resp = await self._request(
            "POST",
            "api/init",
            json=body,
            headers={"X-Init-API-Key": _check_header_secret(init_key, "init key")},
            route_kind="init",
            long=True,
        )
        return self._model(resp, InitStatus)

    # ----------------------------------------------------------------------------------------- conversations

    async def search_conversations(
        self,
        *,
        status: str | None = None,
        sort_order: str = "UPDATED_AT_DESC",
        limit: int = PAGE_LIMIT,
    ) -> list[ConversationInfo]:
        """Every conversation (all pages of `limit` each; the server refuses limit > 100 with a 500)."""
        out: list[ConversationInfo] = []
        seen_ids: set[str] = set()
        seen_pages: set[str] = set()
        page_id: str | None = None
        for _ in range(MAX_CONVERSATION_PAGES):
            params: dict[str, Any] = {"limit": limit, "sort_order": sort_order}
            if status:
                params["status"] = str(status).lower()
            if page_id:
                params["page_id"] = page_id
            resp = await self._request("GET", "api/conversations/search", params=params, route_kind="list")
            page = self._model(resp, ConversationPage)
            fresh = 0
            for item in page.items:
                if item.id not in seen_ids:
                    seen_ids.add(item.id)
                    out.append(item)
                    fresh += 1
            page_id = page.next_page_id
            if not page_id or page_id in seen_pages or not fresh:  # an unknown page id restarts at 0: never loop
                return out
            seen_pages.add(page_id)
        raise ServerFailure(
            f"{self.display_url} listed more than {MAX_CONVERSATION_PAGES * limit} conversations "
            "(its pages do not end); the list was not read"
        )

    async def count_conversations(self, status: str | None = None) -> int:
        params = {"status": str(status).lower()} if status else None
        resp = await self._request("GET", "api/conversations/count", params=params, route_kind="list")
        return self._int(resp)

    async def get_conversation(self, cid: str) -> ConversationInfo:
        resp = await self._request("GET", self._conv_path(cid), route_kind="conversation", subject=self._subject(cid))
        return self._model(resp, ConversationInfo)

    async def get_conversations(self, ids: Sequence[str]) -> list[ConversationInfo | None]:
        """Batch get, same order, None for unknown ids. Sent in chunks of at most 99 ids (100 is a 500)."""
        ids = [str(i) for i in ids]
        out: list[ConversationInfo | None] = []
        for start in range(0, len(ids), BATCH_GET_MAX):
            chunk = ids[start : start + BATCH_GET_MAX]
            resp = await self._request(
                "GET", "api/conversations", params=[("ids", i) for i in chunk], route_kind="list"
            )
            data = self._json(resp)
            if not isinstance(data, list) or len(data) != len(chunk):
                raise self._bad_shape(resp, f"a list of {len(chunk)} conversations or nulls")
            for item in data:
                out.append(None if item is None else self._model(resp, ConversationInfo, item, use_data=True))
        return out

    async def create_conversation(self, req: StartConversationRequest) -> ConversationInfo:
        if req.conversation_id is None:
            # Our own id makes a repeated POST harmless: the server answers 200 with the same conversation.
            req = req.model_copy(update={"conversation_id": str(uuid.uuid4())})
        wire = req.to_wire()
        _register_secret_fields(wire)  # the LLM key: masked if the agent ever prints it
        resp = await self._request("POST", "api/conversations", json=wire, route_kind="api")
        return self._model(resp, ConversationInfo)

    async def delete_conversation(self, cid: str) -> None:
        resp = await self._request(
            "DELETE",
            self._conv_path(cid),
            route_kind="conversation_control",
            subject=self._subject(cid),
            repeatable=False,
        )
        self._success(resp, subject=self._subject(cid))

    async def rename_conversation(self, cid: str, title: str) -> None:
        title = str(title).strip()  # as 1.58 stores it; a blank title is refused (422 on 1.58, stored "" by 1.43)
        if not title:
            raise InvalidRequest(f"a conversation title cannot be blank (not sent to {self.display_url})")
        resp = await self._request(
            "PATCH",
            self._conv_path(cid),
            json={"title": title},
            idempotent=True,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    async def run(self, cid: str) -> bool:
        """Start a run. True if started, False if one was already running (409: treated as success)."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/run",
            long=True,
            route_kind="conversation",
            subject=self._subject(cid),
            accept=(409,),
        )
        return resp.status_code != 409

    async def pause(self, cid: str) -> None:
        """Blocks while a tool step runs (long timeout). Unknown conversation (a 400 on the server): NotFound."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/pause",
            long=True,
            route_kind="conversation_control",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    async def interrupt(self, cid: str) -> None:
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/interrupt",
            route_kind="conversation_control",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    async def final_response(self, cid: str) -> str:
        resp = await self._request(
            "GET",
            self._conv_path(cid) + "/agent_final_response",
            route_kind="conversation",
            subject=self._subject(cid),
        )
        data = self._json(resp)
        if not isinstance(data, dict) or not isinstance(data.get("response", ""), str):
            raise self._bad_shape(resp, 'an object {"response": "..."}')
        return data.get("response") or ""

    # ----------------------------------------------------------------------------------------- events

    async def send_message(self, cid: str, text: str, *, run: bool = True) -> None:
        """Append a user message (and start or queue a run). Blocks while a tool step runs (long timeout)."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/events",
            json=SendMessageRequest.text(text, run=run).to_wire(),
            long=True,
            repeatable=False,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    @staticmethod
    def _event_filters(
        kind: str | None = None,
        source: str | None = None,
        body: str | None = None,
        timestamp_gte: str | None = None,
        timestamp_lt: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if kind:
            # The server compares against the Python class path; a wire kind would silently match nothing.
            params["kind"] = SEARCH_KIND_PATHS.get(kind, kind)
        if source:
            params["source"] = source
        if body:
            params["body"] = body
        if timestamp_gte:
            params["timestamp__gte"] = timestamp_gte
        if timestamp_lt:
            params["timestamp__lt"] = timestamp_lt
        return params

    async def search_events(
        self,
        cid: str,
        *,
        page_id: str | None = None,
        limit: int = PAGE_LIMIT,
        kind: str | None = None,
        source: str | None = None,
        body: str | None = None,
        timestamp_gte: str | None = None,
        timestamp_lt: str | None = None,
        descending: bool = False,
    ) -> tuple[list[Event], str | None]:
        """One page of events (log order, or reversed) and the id that starts the next page (None at the end).
        `kind` is a wire kind (`"MessageEvent"`), translated to the class path the server filters on."""
        params = self._event_filters(kind, source, body, timestamp_gte, timestamp_lt)
        params["limit"] = limit
        params["sort_order"] = "TIMESTAMP_DESC" if descending else "TIMESTAMP"
        if page_id:
            params["page_id"] = page_id
        resp = await self._request(
            "GET",
            self._conv_path(cid) + "/events/search",
            params=params,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        data = self._json(resp)
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            raise self._bad_shape(resp, 'an object {"items": [...], "next_page_id": ...}')
        next_page = data.get("next_page_id")
        if next_page is not None and not isinstance(next_page, str):
            raise self._bad_shape(resp, "a string next_page_id", f"got {type(next_page).__name__}")
        return [parse_event(item) for item in data.get("items") or []], (next_page or None)

    async def all_events(self, cid: str, *, timestamp_gte: str | None = None) -> list[Event]:
        """Every event of the conversation in log order (pages of 100), optionally from a timestamp on (inclusive)."""
        out: list[Event] = []
        seen_pages: set[str] = set()
        page_id: str | None = None
        for _ in range(MAX_EVENT_PAGES):
            events, page_id = await self.search_events(
                cid, page_id=page_id, limit=PAGE_LIMIT, timestamp_gte=timestamp_gte
            )
            out.extend(events)
            if not page_id or page_id in seen_pages or not events:
                return out
            seen_pages.add(page_id)
        raise ServerFailure(
            f"{self.display_url} sent more than {MAX_EVENT_PAGES} pages of events for conversation {cid} "
            "(its pages do not end); stopped reading"
        )

    async def count_events(
        self,
        cid: str,
        *,
        kind: str | None = None,
        source: str | None = None,
        body: str | None = None,
        timestamp_gte: str | None = None,
        timestamp_lt: str | None = None,
    ) -> int:
        resp = await self._request(
            "GET",
            self._conv_path(cid) + "/events/count",
            params=self._event_filters(kind, source, body, timestamp_gte, timestamp_lt) or None,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        return self._int(resp)

    async def get_event(self, cid: str, event_id: str) -> Event:
        event_id = str(event_id)
        if not event_id or "/" in event_id or "?" in event_id or "#" in event_id:
            raise ValueError(f"not an event id: {event_id!r}")
        resp = await self._request(
            "GET",
            self._conv_path(cid) + f"/events/{event_id}",
            route_kind="event",
            subject=f"event {event_id} of conversation {cid}",
        )
        data = self._json(resp)
        if not isinstance(data, dict):
            raise self._bad_shape(resp, "an event object")
        return parse_event(data)

    async def respond_to_confirmation(self, cid: str, accept: bool, reason: str | None = None) -> None:
        """Approve (the pending actions run) or reject (each gets a `UserRejectObservation`; no run starts)."""
        req = (
            ConfirmationResponseRequest(accept=accept)
            if reason is None
            else ConfirmationResponseRequest(accept=accept, reason=reason)
        )
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/events/respond_to_confirmation",
            json=req.to_wire(),
            long=True,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    # ----------------------------------------------------------------------------------------- 1.58+ routes
    # Runtime, children, git and catalogs exist on agent server 1.58 (`ServerInfo.supports_runtime_routes`,
    # `.supports_tool_catalog`); an older server answers 404, raised as `NotFound`. A full server answers 429 on a
    # child create: `ServerFull`, nothing created, never retried here.

    async def runtime(self, cid: str) -> RuntimeInfo:
        """Whether the conversation's runtime can run it (`GET /{id}/runtime`)."""
        resp = await self._request(
            "GET", self._conv_path(cid) + "/runtime", route_kind="conversation", subject=self._subject(cid)
        )
        return self._model(resp, RuntimeInfo)

    async def reprovision(self, cid: str) -> RuntimeInfo:
        """Ask the server to bring the runtime back (`POST /{id}/runtime/reprovision`); its state afterwards."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/runtime/reprovision",
            long=True,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        return self._model(resp, RuntimeInfo)

    async def create_child(
        self, cid: str, task: str, title: str | None = None, isolation: str | None = None
    ) -> ChildConversation:
        """Start a child conversation of `cid` that works on `task` at once (its first message). `isolation` is
        "worktree" (the server's default: a git worktree when the parent's directory is a repository) or "shared".
        Never resent on a dropped connection: a repeat would start a second child."""
        if not str(task).strip():
            raise InvalidRequest(f"a child conversation needs a task (not sent to {self.display_url})")
        if isolation not in (None, "worktree", "shared"):
            raise InvalidRequest(f"isolation must be 'worktree' or 'shared', not {isolation!r}")
        body = CreateChildRequest.model_validate({"task": task, "title": title, "isolation": isolation}).to_wire()
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/children",
            json=body,
            long=True,
            repeatable=False,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        return self._model(resp, ChildConversation)

    async def git_changes(self, cid: str, path: str, *, ref: str | None = None) -> list[GitChange]:
        """Changed files under `path` (absolute, inside the conversation's working dir), against the upstream
        branch (or HEAD without a remote), or against `ref`."""
        params = {"path": path} | ({"ref": ref} if ref else {})
        resp = await self._request(
            "GET",
            self._conv_path(cid) + "/git/changes",
            params=params,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        data = self._json(resp)
        if not isinstance(data, list):
            raise self._bad_shape(resp, "a list of changes")
        return [self._model(resp, GitChange, item, use_data=True) for item in data]

    async def git_diff(self, cid: str, path: str, *, ref: str | None = None) -> GitDiff:
        """One file (absolute `path`) before and after, whole; `original` is "" for a new file."""
        params = {"path": path} | ({"ref": ref} if ref else {})
        resp = await self._request(
            "GET",
            self._conv_path(cid) + "/git/diff",
            params=params,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        return self._model(resp, GitDiff)

    async def tools_catalog(self) -> ToolCatalog:
        """The tools this server can give an agent (`GET /api/tools/catalog`); offer `ToolCatalog.offerable`."""
        resp = await self._request("GET", "api/tools/catalog", route_kind="server")
        return self._model(resp, ToolCatalog)

    async def set_confirmation_policy(self, cid: str, policy: Mapping[str, Any]) -> None:
        """E.g. `{"kind": "AlwaysConfirm"}`, `{"kind": "ConfirmRisky", "threshold": "HIGH", "confirm_unknown": True}`."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/confirmation_policy",
            json={"policy": dict(policy)},
            idempotent=True,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    async def set_security_analyzer(self, cid: str, analyzer: Mapping[str, Any] | None) -> None:
        """E.g. `{"kind": "LLMSecurityAnalyzer"}`; None removes it (every risk is then UNKNOWN)."""
        resp = await self._request(
            "POST",
            self._conv_path(cid) + "/security_analyzer",
            json={"security_analyzer": dict(analyzer) if analyzer is not None else None},
            idempotent=True,
            route_kind="conversation",
            subject=self._subject(cid),
        )
        self._success(resp, subject=self._subject(cid))

    def session_stream(self, conversation_id: str, *, after_seq: int | None = -1, **options: Any) -> SessionStream:
        """A `SessionStream` (the resumable session socket, servers ≥ 1.46) with this client's key."""
        from .session_stream import SessionStream

        return SessionStream(self.base_url, conversation_id, self._session_key, after_seq=after_seq, **options)
