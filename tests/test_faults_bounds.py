"""One server's trouble is its own, and nothing a server sends grows without bound: a request has an overall
deadline however slowly the server drips bytes; each server is polled in its own task; response bodies,
listings, socket frames and the live token buffer are capped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import pytest
from websockets.asyncio.server import serve

from tests.helpers import new_conversation
from tests.hostile import HostileHTTP, Request, response
from tui.client import AgentClient, Disconnected, EventStream, Frame, ServerFailure, Unreachable
from tui.config import ServerConfig
from tui.protocol import StreamingDeltaEvent
from tui.session import Fleet, ServerState, TokenBuffer

CID = "3f2b8a8e-5a1d-4c4e-9a7e-1b2c3d4e5f60"


async def drip(request: Request, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one byte every half second: httpx's read timeout never fires."""
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    await writer.drain()
    for _ in range(100000):
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.5)


async def test_a_server_that_drips_bytes_cannot_hold_a_call_forever():
    async with HostileHTTP(drip) as srv, AgentClient(srv.base_url, timeout=1.0) as client:
        started = time.monotonic()
        with pytest.raises(Unreachable) as caught:
            await asyncio.wait_for(client.count_conversations(), 20)
        assert time.monotonic() - started < 10
        assert "no complete answer within 3 s" in caught.value.message


async def test_one_slow_server_never_freezes_the_polling_of_the_others(demo_server, tmp_path):
    async with HostileHTTP(drip) as slow:

        def client_factory(url: str, key: str | None) -> AgentClient:
            # The slow server's calls take 30 s each before they give up.
            return AgentClient(url, key, timeout=10.0 if url == slow.base_url else 5.0)

        fleet = Fleet(
            [ServerConfig("slow", slow.base_url), ServerConfig("demo", demo_server.base_url)],
            client_factory=client_factory,
            fast_poll=0.3,
            slow_poll=0.3,
        )
        task = asyncio.create_task(fleet.run())
        try:
            async with AgentClient(demo_server.base_url) as client:
                cid = await new_conversation(client)
                deadline = time.monotonic() + 8
                while cid not in fleet.entry("demo").conversations:
                    assert time.monotonic() < deadline, "the demo server's list froze behind the slow server"
                    await asyncio.sleep(0.1)
                assert fleet.entry("demo").state is ServerState.OK
                second = await new_conversation(client)  # and it keeps being polled
                deadline = time.monotonic() + 5
                while second not in fleet.entry("demo").conversations:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await fleet.aclose()


@pytest.mark.parametrize("declared", [True, False], ids=["declared length", "chunked"])
async def test_a_huge_response_body_is_refused_not_parsed(declared):
    size = 40 * 1024 * 1024

    async def huge(request: Request, writer: asyncio.StreamWriter) -> None:
        if declared:
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n".encode() + b"[")
            await writer.drain()
            await asyncio.sleep(5)
            return
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"1" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    async with HostileHTTP(huge) as srv, AgentClient(srv.base_url) as client:
        with pytest.raises(ServerFailure) as caught:
            await asyncio.wait_for(client.count_conversations(), 20)
    assert "larger than 32 MB" in caught.value.message


async def test_endless_pages_stop_at_a_bound():
    pages = 0

    async def endless(request: Request, writer: asyncio.StreamWriter) -> None:
        nonlocal pages
        pages += 1
        items = [{"id": str(uuid.uuid4()), "execution_status": "idle"} for _ in range(100)]
        writer.write(response(200, {"items": items, "next_page_id": str(uuid.uuid4())}))

    async with HostileHTTP(endless) as srv, AgentClient(srv.base_url) as client:
        with pytest.raises(ServerFailure) as caught:
            await asyncio.wait_for(client.search_conversations(), 60)
    assert "pages do not end" in caught.value.message
    assert pages <= 100


async def test_empty_pages_that_name_a_next_one_end_the_listing():
    async def empty(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, {"items": [], "next_page_id": str(uuid.uuid4())}))

    async with HostileHTTP(empty) as srv, AgentClient(srv.base_url) as client:
        assert await asyncio.wait_for(client.all_events(CID), 10) == []
        assert await asyncio.wait_for(client.search_conversations(), 10) == []


async def test_an_oversized_socket_frame_is_refused():
    async def handler(ws) -> None:
        await ws.send(json.dumps({"kind": "MessageEvent", "id": "x", "pad": "y" * (9 * 1024 * 1024)}))
        await asyncio.sleep(5)

    server = await serve(handler, "127.0.0.1", 0, max_size=None)
    async with server:
        port = server.sockets[0].getsockname()[1]
        stream = EventStream(f"http://127.0.0.1:{port}", CID, initial_backoff=0.05)
        items: list = []

        async def collect() -> None:
            async for item in stream:
                items.append(item)
                if isinstance(item, (Frame, Disconnected)):
                    break

        await asyncio.wait_for(collect(), 20)
        await stream.close()
    assert not any(isinstance(i, Frame) for i in items), "a 9 MB frame was accepted"
    assert isinstance(items[-1], Disconnected) and "1009" in items[-1].reason


def test_the_live_token_buffer_is_bounded_and_keeps_the_newest_text():
    buf = TokenBuffer()
    piece = "x" * 999 + "\n"
    for _ in range(3000):  # 3 million characters of a reply that never ends
        buf.feed(StreamingDeltaEvent(kind="StreamingDeltaEvent", content=piece))
    buf.feed(StreamingDeltaEvent(kind="StreamingDeltaEvent", content="THE END"))
    text = buf.content
    assert len(text) <= 1_000_000 and text.endswith("THE END") and text.startswith("…")
    assert buf.content is text or buf.content == text  # reading twice does not grow it
