"""A loopback TCP proxy of the tests' own: forwards to the server and can cut every connection on demand."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import struct


class DroppingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.base_events.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.drops = 0
        self.port = 0
        self.accepting = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> DroppingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.drop_all()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, inspect) -> None:
            try:
                while data := await src.read(65536):
                    if not inspect(data, pair):
                        return
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer, self._client_bytes), pipe(up_reader, writer, self._server_bytes))
        self._pairs.discard(pair)

    # Hooks for subclasses: see every chunk before it is forwarded; False drops the connection's direction.
    def _client_bytes(self, data: bytes, pair) -> bool:
        return True

    def _server_bytes(self, data: bytes, pair) -> bool:
        return True

    @staticmethod
    def _abort(pair) -> None:
        """Reset both sides of one proxied connection (RST where possible)."""
        for w in pair:
            with contextlib.suppress(Exception):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                w.transport.abort()

    def drop_all(self) -> int:
        """Cut every open connection abruptly, like a flaky network."""
        pairs = list(self._pairs)
        for pair in pairs:
            self._abort(pair)
        self._pairs.clear()
        self.drops += len(pairs)
        return len(pairs)

    async def chaos(self, stop: asyncio.Event, low: float = 0.2, high: float = 2.0, seed: int = 7) -> None:
        """Drop every connection at random intervals until `stop` is set."""
        rng = random.Random(seed)
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.uniform(low, high))
            if not stop.is_set():
                self.drop_all()


class CuttingProxy(DroppingProxy):
    """A `DroppingProxy` that can lose one answer: once armed with a request pattern, the next request whose bytes
    contain it is delivered to the server, and its connection is cut (RST) as soon as the response starts, so the
    server acted on the request but the client never hears the answer."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self._armed: tuple[bytes, ...] | None = None
        self._doomed: set = set()
        self.cut = 0
        self.cut_event = asyncio.Event()

    def arm(self, *patterns: bytes) -> None:
        """Cut the connection of the next request containing all of `patterns` after the server got it."""
        self._armed = patterns
        self.cut_event = asyncio.Event()

    def _client_bytes(self, data: bytes, pair) -> bool:
        if self._armed is not None and all(p in data for p in self._armed):
            self._armed = None
            self._doomed.add(pair)
        return True

    def _server_bytes(self, data: bytes, pair) -> bool:
        if pair in self._doomed:
            self._doomed.discard(pair)
            self._abort(pair)
            self.cut += 1
            self.cut_event.set()
            return False
        return True


class RecordingProxy(DroppingProxy):
    """A `DroppingProxy` that keeps every byte the client sent (request lines, headers, WebSocket frames), to check
    what a client puts on the wire and where."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self.sent = bytearray()

    def _client_bytes(self, data: bytes, pair) -> bool:
        self.sent.extend(data)
        return True

    def request_lines(self) -> list[str]:
        """The first line of every HTTP request (method, URL, version): where a key must never be."""
        return [
            line.decode("latin-1")
            for line in re.findall(rb"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^\r\n]*", bytes(self.sent))
        ]
