"""A small HTTP/1.1 server on loopback whose answers a test scripts: `handler(method, path, body) -> Reply`.

For what the embedded server does not do (yet): 429s of a full server, the 1.58 status codes, a WebSocket
handshake refused with HTTP 403. Every request is recorded (`requests`), so a test can also assert what the
client did *not* send (a retry, a blank title).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_REASONS = {200: "OK", 201: "Created", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity"}


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"success": True})


@dataclass
class Seen:
    method: str
    path: str  # with the query string
    body: Any
    headers: dict[str, str]

    @property
    def route(self) -> str:
        return self.path.split("?", 1)[0]


Handler = Callable[[str, str, Any], Reply]


class ScriptedServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Seen] = []
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    def seen(self, method: str, route_suffix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.route.endswith(route_suffix)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                raw = await reader.readexactly(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                self.requests.append(Seen(method, path, body, headers))
                reply = self.handler(method, path, body)
                payload = json.dumps(reply.body).encode()
                upgrade = headers.get("upgrade", "").lower() == "websocket"
                writer.write(
                    f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n".encode()
                    + b"content-type: application/json\r\n"
                    + f"content-length: {len(payload)}\r\n".encode()
                    + (b"connection: close\r\n" if upgrade else b"")
                    + b"\r\n"
                    + payload
                )
                await writer.drain()
                if upgrade:  # a refused handshake: the client opens a new connection for its next try
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
