"""A loopback TCP proxy of the tests' own: forwards to the server and can cut every connection on demand."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re


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

    async def start(self) -> "DroppingProxy":
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

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._pairs.discard(pair)

    def drop_all(self) -> int:
        """Cut every open connection abruptly (RST where possible), like a flaky network."""
        n = 0
        for down, up in list(self._pairs):
            for w in (down, up):
                with contextlib.suppress(Exception):
                    sock = w.get_extra_info("socket")
                    if sock is not None:
                        import socket
                        import struct

                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    w.transport.abort()
            n += 1
        self._pairs.clear()
        self.drops += n
        return n

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
        self.cut = 0
        self.cut_event = asyncio.Event()

    def arm(self, *patterns: bytes) -> None:
        """Cut the connection of the next request containing all of `patterns` after the server got it."""
        self._armed = patterns
        self.cut_event = asyncio.Event()

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
        doomed = False

        def abort() -> None:
            import socket
            import struct

            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    sock = w.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    w.transport.abort()

        async def upstream() -> None:
            nonlocal doomed
            try:
                while data := await reader.read(65536):
                    if self._armed is not None and all(p in data for p in self._armed):
                        self._armed = None
                        doomed = True
                    up_writer.write(data)
                    await up_writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    up_writer.close()

        async def downstream() -> None:
            try:
                while data := await up_reader.read(65536):
                    if doomed:
                        abort()
                        self.cut += 1
                        self.cut_event.set()
                        return
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    writer.close()

        await asyncio.gather(upstream(), downstream())
        self._pairs.discard(pair)


class RecordingProxy(DroppingProxy):
    """A `DroppingProxy` that keeps every byte the client sent (request lines, headers, WebSocket frames), to check
    what a client puts on the wire and where."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__(target_host, target_port)
        self.sent = bytearray()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxy = self

        class Tap:
            async def read(self, n: int) -> bytes:
                data = await reader.read(n)
                proxy.sent.extend(data)
                return data

        await DroppingProxy._handle(self, Tap(), writer)  # type: ignore[arg-type]

    def request_lines(self) -> list[str]:
        """The first line of every HTTP request (method, URL, version): where a key must never be."""
        return [line.decode("latin-1") for line in re.findall(rb"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^\r\n]*",
                                                               bytes(self.sent))]
