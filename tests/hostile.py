"""Small hostile servers on loopback for the fault tests: raw asyncio HTTP, so a test can answer anything
(redirects, endless pages, huge bodies, one byte every few seconds) and record what reached it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


def response(status: int, body: Any = b"", headers: dict[str, str] | None = None) -> bytes:
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
    for key, value in (headers or {}).items():
        head += f"{key}: {value}\r\n"
    return head.encode() + b"\r\n" + bytes(body)


@dataclass
class HostileHTTP:
    """`async with HostileHTTP(handler) as srv:` then `srv.base_url`; `srv.requests` records what arrived."""

    handler: Handler
    requests: list[Request] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # every byte received, per connection
    port: int = 0

    async def __aenter__(self) -> HostileHTTP:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for writer in list(getattr(self, "_writers", ())):
            writer.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers = getattr(self, "_writers", set())
        self._writers.add(writer)
        received = bytearray()
        self.raw.append(b"")
        index = len(self.raw) - 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                received += head
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                received += body
                self.raw[index] = bytes(received)
                request = Request(method, target, headers, body)
                self.requests.append(request)
                await self.handler(request, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.raw[index] = bytes(received)
            writer.close()


async def recorder() -> tuple[HostileHTTP, Callable[[], bool]]:
    """A server that records and answers 404: the 'other host' a redirect points at."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(404, {"detail": "Not Found"}))

    srv = HostileHTTP(handler)
    await srv.__aenter__()
    return srv, lambda: bool(srv.raw)
