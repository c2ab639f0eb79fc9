"""Typed errors for everything that can go wrong talking to an agent server.

Every error carries `.message`: one sentence a person understands, naming the server URL and, where there is
one, what to do about it. Session and init keys never appear in a message: the key only ever travels in a
header, and the messages are built from the base URL (with any `user:password@` part removed), the status and
the server's own text. Both `message` and a textual `detail` are passed through `tui.sanitize` when the error is
built, so whoever shows one (a notification, a toast, a line on stderr) shows text that is safe on a terminal.
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from tui.sanitize import MASK, SECRET_FIELDS, one_line, strip_control

SESSION_KEY_HINT = "set it with --session-key-env VAR"
INIT_HINT = "openhands-tui init --init-key-env VAR"


class AgentServerError(Exception):
    """Base class. `message` is for people; `status` is the HTTP status (None when no response arrived);
    `detail` is the server's own text (its `detail`, or `exception` for 5xx), when there was one."""

    def __init__(self, message: str, status: int | None = None, detail: Any = None) -> None:
        # Server text is data: no escape sequence, control, bidi override or echoed key survives construction.
        message = one_line(str(message), 1000)
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = _clean(detail)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


def _clean(value: Any, depth: int = 0) -> Any:
    """A server `detail` (text, or the JSON of a 422) with every string sanitised and secret fields masked."""
    if isinstance(value, str):
        return strip_control(value)
    if depth > 32 and isinstance(value, (dict, list, tuple)):
        return "(nested too deeply)"
    if isinstance(value, dict):
        return {strip_control(str(k)): _clean(v, depth + 1) for k, v in value.items() if k is not None} | {
            k: MASK for k in value if str(k).lower() in SECRET_FIELDS and value[k] not in (None, "", MASK)
        }
    if isinstance(value, (list, tuple)):
        return [_clean(v, depth + 1) for v in value]
    return value


class Unauthorized(AgentServerError):
    """401 on REST, close 4001 or a 401/403 handshake on the socket: wrong or missing key."""


class NotFound(AgentServerError):
    """The conversation (or event) does not exist: 404 (1.58 for every route), the 400 `Bad Request` of
    pause/interrupt/delete and PATCH's `{"success": false}` (1.43), socket close 4004."""


class Conflict(AgentServerError):
    """409: e.g. a run is already in progress."""


class Dormant(AgentServerError):
    """503 from a server in deferred-init mode: it needs `POST /api/init` first."""


class InvalidRequest(AgentServerError):
    """400/422 (and other 4xx): the server rejected what we sent."""


class ServerFull(AgentServerError):
    """429: the server is at its limit of concurrent runs (agent server 1.58+). Never a delivery, and never retried
    by the client itself: the caller decides. `stored` is True when the server kept what was sent before refusing
    to run it (a message send: "Message saved, …"): then retry `POST …/run`, never the send. When False nothing was
    stored (create, run, approve, start a child): repeat the same request later."""

    def __init__(self, message: str, status: int | None = 429, detail: Any = None, *, stored: bool = False) -> None:
        super().__init__(message, status, detail)
        self.stored = stored

    def __repr__(self) -> str:
        return f"ServerFull({self.message!r}, status={self.status!r}, stored={self.stored!r})"


class ServerFailure(AgentServerError):
    """5xx, or a response whose body is not what the protocol promises."""


class Unreachable(AgentServerError):
    """No response at all: connection refused, DNS, timeout, TLS, dropped connection."""


# --------------------------------------------------------------------------------------------------------------
# helpers


def display_url(url: str | httpx.URL) -> str:
    """The URL as shown to people: no `user:password@`, no query string, no trailing slash."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _short(text: Any, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _body(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except Exception:  # not JSON, bad encoding, ...
        try:
            return resp.text
        except Exception:
            return None


def summarize_validation(detail: Any, limit: int = 3) -> str:
    """A 422 `detail` list (`[{"loc": [...], "msg": ...}, ...]`) as `"limit: Input should be greater than 0"`."""
    if not isinstance(detail, list):
        return _short(detail) if detail not in (None, "") else "the request was not valid"
    parts: list[str] = []
    for item in detail[:limit]:
        if not isinstance(item, dict):
            parts.append(_short(item, 120))
            continue
        loc = item.get("loc")
        if isinstance(loc, (list, tuple)):
            names = [str(x) for x in loc]
            if names and names[0] in ("body", "query", "path", "header", "cookie"):
                names = names[1:]
            where = ".".join(names)
        else:
            where = ""
        msg = _short(item.get("msg") or item.get("type") or "invalid", 160)
        parts.append(f"{where}: {msg}" if where else msg)
    if len(detail) > limit:
        parts.append(f"and {len(detail) - limit} more")
    return "; ".join(parts) if parts else "the request was not valid"


def unauthorized_message(url: str) -> str:
    return f"wrong or missing session key for {display_url(url)}; {SESSION_KEY_HINT}"


def server_full_message(url: str, stored: bool) -> str:
    if stored:
        return (
            f"server {display_url(url)} is at its run limit; the message was saved but not answered yet "
            "(start the run again later, do not resend it)"
        )
    return f"server {display_url(url)} is at its run limit; nothing was started, try again later"


def dormant_message(url: str, state: str | None = None) -> str:
    st = f" (state '{state}')" if state else ""
    return f"the server at {display_url(url)} is waiting to be initialised{st}; wake it with `{INIT_HINT}`"


def _deferred_state(text: str) -> str | None:
    # "503: server is in deferred-init state 'dormant'; call POST /api/init first"
    marker = "deferred-init state '"
    i = text.find(marker)
    if i < 0:
        return None
    rest = text[i + len(marker) :]
    j = rest.find("'")
    return rest[:j] if j >= 0 else None


def error_from_response(
    resp: httpx.Response,
    *,
    route_kind: str = "api",
    base_url: str | None = None,
    subject: str | None = None,
) -> AgentServerError:
    """Map an HTTP error response to a typed error.

    `route_kind` says what kind of route answered, which changes how some statuses read:
      - "conversation": a route on one conversation (404 = it does not exist);
      - "conversation_control": pause / interrupt / delete, where a 1.43 server answers an unknown
        conversation with 400 `{"detail": "Bad Request"}` and 1.58 with 404 (both mapped to `NotFound`);
      - "event": get one event (an unknown event id is a 500 `'Unknown event_id'` on 1.43, a 404 on 1.58);
      - "init": `/api/init` (401 = wrong init key, 404 = not a deferred-init server, 400 = already initialised);
      - anything else ("api", "list", "server"): a server-wide route (404 = wrong server or path prefix).
    `subject` names the thing asked for ("conversation 1234…") in the messages.
    """
    status = resp.status_code
    url = display_url(base_url if base_url is not None else resp.request.url.copy_with(path="/", query=None))
    body = _body(resp)
    detail = body.get("detail") if isinstance(body, dict) else body
    exception = body.get("exception") if isinstance(body, dict) else None
    what = subject or ("the conversation" if route_kind.startswith("conversation") else "the resource")

    if status in (401, 403):
        if route_kind == "init":
            return Unauthorized(f"wrong or missing init key for {url}; set it with --init-key-env VAR", status, detail)
        return Unauthorized(unauthorized_message(url), status, detail)

    if status == 429:
        # 1.58's run limit. A message send is stored before the refusal and says so ("Message saved, but …").
        stored = isinstance(detail, str) and detail.lstrip().lower().startswith("message saved")
        return ServerFull(server_full_message(url, stored), status, detail, stored=stored)

    if status == 503:
        text = f"{exception or ''} {detail if isinstance(detail, str) else ''}"
        if "deferred-init" in text or "deferred_init" in text:
            return Dormant(dormant_message(url, _deferred_state(text)), status, exception or detail)

    if status == 404:
        if route_kind == "init":
            return NotFound(
                f"{url} is not running in deferred-init mode; there is nothing to initialise", status, detail
            )
        if route_kind in ("conversation", "conversation_control", "event"):
            return NotFound(f"{what} was not found on {url}; it may have been deleted", status, detail)
        return NotFound(
            f"{url} has no {resp.request.url.path} endpoint; check that it is an OpenHands agent server "
            f"and that the URL (with any path prefix) is right",
            status,
            detail,
        )

    if status == 400 and route_kind == "conversation_control" and detail == "Bad Request":
        return NotFound(f"{what} was not found on {url}; it may have been deleted", status, detail)

    if status == 400 and route_kind == "init":
        return Conflict(f"{url} is already initialised ({_short(detail, 120)})", status, detail)

    if status == 409:
        return Conflict(f"{url} refused: {_short(detail, 200) if detail else 'conflict'}", status, detail)

    if status == 422:
        return InvalidRequest(f"{url} rejected the request: {summarize_validation(detail)}", status, detail)

    if 400 <= status < 500:
        text = _short(detail, 200) if detail not in (None, "") else f"HTTP {status}"
        return InvalidRequest(f"{url} rejected the request: {text}", status, detail)

    # 5xx: the server's `detail` is "Internal Server Error"; the real reason is in `exception`.
    reason = exception if isinstance(exception, str) and exception.strip() else None
    if route_kind == "event" and reason and "Unknown event_id" in reason:
        return NotFound(f"{what} was not found on {url}", status, reason)
    if reason is None and isinstance(detail, str) and detail and detail != "Internal Server Error":
        reason = detail
    text = _short(reason, 200) if reason else "no details given"
    return ServerFailure(f"{url} failed with HTTP {status}: {text}", status, reason if reason else detail)


def _walk(exc: BaseException):
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def describe_transport_error(exc: BaseException) -> str:
    """A short human reason for a failure before any response: 'connection refused', 'timed out', ..."""
    for e in _walk(exc):
        if isinstance(e, (ssl.SSLError, ssl.CertificateError)):
            return f"TLS error ({_short(e, 120)})"
        if isinstance(e, ConnectionRefusedError) or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "host name not found"
        if isinstance(e, ConnectionResetError):
            return "connection reset by the server"
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return "timed out while connecting"
    if isinstance(exc, httpx.ReadTimeout):
        return "timed out waiting for an answer"
    if isinstance(exc, httpx.WriteTimeout):
        return "timed out while sending"
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return "timed out"
    text = str(exc).lower()
    if "refused" in text or "connect call failed" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "certificate" in text or "ssl" in text or "tls" in text:
        return f"TLS error ({_short(exc, 120)})"
    if isinstance(exc, httpx.RemoteProtocolError) or "disconnected" in text:
        return "the server closed the connection without answering"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError)):
        return "the connection was dropped"
    return _short(exc, 120) or type(exc).__name__


def unreachable(url: str, exc: BaseException) -> Unreachable:
    return Unreachable(f"cannot reach {display_url(url)}: {describe_transport_error(exc)}")
