"""A loopback TCP proxy of the tests' own: forwards to the server and can cut every connection on demand."""

from __future__ import annotations

import asyncio
import contextlib
import random


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
