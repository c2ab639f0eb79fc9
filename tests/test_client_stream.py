"""`tui.client.stream.EventStream` against the embedded demo server, plus a scripted websockets server for
closes and frames the demo cannot be made to send."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any

import pytest
from websockets.asyncio.server import serve

import tui.client.stream as stream_mod
from tui.client import (
    AgentClient,
    Connected,
    Disconnected,
    EventStream,
    Frame,
    NotFound,
    Stopped,
    Unauthorized,
    Unreachable,
    decode_frame,
    events_url,
)
from tui.protocol import (
    ConversationStateUpdateEvent,
    MessageEvent,
    ServerErrorEvent,
    StartConversationRequest,
    UnknownEvent,
)

pytestmark = pytest.mark.timeout(30)

KEY = "test-session-key"
FAST = {"ping_interval": 1.0, "ping_timeout": 2.0, "max_backoff": 2.0, "open_timeout": 3.0}


def url_of(server: Any) -> str:
    return server if isinstance(server, str) else server.base_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def next_item(it: AsyncIterator, timeout: float = 10.0):
    return await asyncio.wait_for(it.__anext__(), timeout)


async def until(it: AsyncIterator, pred: Callable[[Any], bool], timeout: float = 10.0) -> tuple[Any, list]:
    """Read items until one matches `pred`; return it and everything read before it."""
    seen: list = []

    async def go():
        async for item in it:
            if pred(item):
                return item
            seen.append(item)
        pytest.fail(f"stream ended before the expected item; saw {seen!r}")

    try:
        return await asyncio.wait_for(go(), timeout), seen
    except TimeoutError:
        pytest.fail(f"no matching item within {timeout} s; saw {seen!r}")


async def new_conversation(base_url: str, tmp_path, key: str | None = None) -> str:
    async with AgentClient(base_url, key) as client:
        conv = await client.create_conversation(
            StartConversationRequest.build(model="demo/scripted", working_dir=str(tmp_path))
        )
        return conv.id


def is_full_state(item: Any) -> bool:
    return (
        isinstance(item, Frame)
        and isinstance(item.event, ConversationStateUpdateEvent)
        and item.event.key == "full_state"
    )


@pytest.fixture
def recorded_connects(monkeypatch):
    """Every call `EventStream` makes to `websockets...connect`, and the sockets it got back."""
    calls: list[tuple[tuple, dict]] = []
    sockets: list = []
    real = stream_mod.connect

    async def spy(*args, **kwargs):
        calls.append((args, kwargs))
        ws = await real(*args, **kwargs)
        sockets.append(ws)
        return ws

    monkeypatch.setattr(stream_mod, "connect", spy)
    return calls, sockets


# --------------------------------------------------------------------------------------------------------------
# against the demo server


async def test_first_frame_is_full_state_then_a_live_turn(demo_server, tmp_path):
    url = url_of(demo_server)
    cid = await new_conversation(url, tmp_path)
    stream = EventStream(url, cid, **FAST)
    it = aiter(stream)
    try:
        first = await next_item(it)
        assert first == Connected(1)
        frame = await next_item(it)
        assert is_full_state(frame), frame
        assert frame.raw["kind"] == "ConversationStateUpdateEvent"

        async with AgentClient(url) as client:
            await client.send_message(cid, "[text] say something")
        user, _ = await until(
            it, lambda i: isinstance(i, Frame) and isinstance(i.event, MessageEvent) and i.event.source == "user"
        )
        assert "say something" in user.event.text
        reply, _ = await until(
            it, lambda i: isinstance(i, Frame) and isinstance(i.event, MessageEvent) and i.event.source == "agent"
        )
        assert reply.event.text
        # The turn ends with a snapshot whose status is no longer running.
        await until(it, lambda i: is_full_state(i) and i.event.value.get("execution_status") != "running")
    finally:
        await stream.close()
    with pytest.raises(StopAsyncIteration):
        await next_item(it, 5)


async def test_key_goes_in_the_first_frame_never_in_the_url(demo_server_keyed, tmp_path, recorded_connects):
    calls, _ = recorded_connects
    url = url_of(demo_server_keyed)
    cid = await new_conversation(url, tmp_path, KEY)
    stream = EventStream(url, cid, KEY, **FAST)
    it = aiter(stream)
    try:
        assert await next_item(it) == Connected(1)
        assert is_full_state(await next_item(it))  # authenticated: the server sent the snapshot
    finally:
        await stream.close()
    assert calls
    for args, kwargs in calls:
        assert KEY not in repr(args) and KEY not in repr(kwargs)
        assert args[0] == events_url(url, cid)
    assert KEY not in stream.url and KEY not in repr(stream)


async def test_wrong_key_stops_with_unauthorized(demo_server_keyed, tmp_path):
    url = url_of(demo_server_keyed)
    cid = await new_conversation(url, tmp_path, KEY)
    stream = EventStream(url, cid, "wrong-secret-value", **FAST)
    stopped, _ = await until(aiter(stream), lambda i: isinstance(i, Stopped))
    assert isinstance(stopped.error, Unauthorized)
    assert "--session-key-env" in stopped.reason and url.rstrip("/") in stopped.reason
    assert "wrong-secret-value" not in stopped.reason


async def test_unknown_and_deleted_conversations_stop_with_not_found(demo_server, tmp_path):
    url = url_of(demo_server)
    stopped, before = await until(aiter(EventStream(url, str(uuid.uuid4()), **FAST)), lambda i: isinstance(i, Stopped))
    assert isinstance(stopped.error, NotFound)
    assert not any(isinstance(i, Disconnected) for i in before)  # fatal: no reconnect loop

    cid = await new_conversation(url, tmp_path)
    async with AgentClient(url) as client:
        await client.delete_conversation(cid)
    stopped, _ = await until(aiter(EventStream(url, cid, **FAST)), lambda i: isinstance(i, Stopped))
    assert isinstance(stopped.error, NotFound)
    assert cid in stopped.reason


async def test_bad_client_frame_gets_an_error_frame_and_the_stream_lives_on(demo_server, tmp_path):
    url = url_of(demo_server)
    cid = await new_conversation(url, tmp_path)
    stream = EventStream(url, cid, **FAST)
    it = aiter(stream)
    try:
        await until(it, is_full_state)
        await stream.send({"role": "robot", "content": "not a message"})
        err, _ = await until(it, lambda i: isinstance(i, Frame) and isinstance(i.event, ServerErrorEvent))
        assert err.event.detail
        # Still alive: a message frame is processed like POST .../events with run=true.
        await stream.send({"role": "user", "content": [{"type": "text", "text": "[text] after the error"}]})
        await until(
            it, lambda i: isinstance(i, Frame) and isinstance(i.event, MessageEvent) and i.event.source == "agent"
        )
    finally:
        await stream.close()


async def test_server_restart_on_the_same_port_reconnects(tmp_path):
    from tui.demo.server import DemoServer

    port = free_port()
    first = DemoServer(port=port)
    first.start()
    url = first.base_url
    stopped_first = False
    try:
        cid = await new_conversation(url, tmp_path)
        stream = EventStream(url, cid, **FAST)
        it = aiter(stream)
        assert await next_item(it) == Connected(1)
        await until(it, is_full_state)

        await asyncio.to_thread(first.stop)
        stopped_first = True
        gone, _ = await until(it, lambda i: isinstance(i, Disconnected))
        assert 0 < gone.retry_in <= FAST["max_backoff"]

        second = DemoServer(port=port)
        await asyncio.to_thread(second.start)
        try:
            back, between = await until(it, lambda i: isinstance(i, Connected), timeout=15)
            assert back.attempt == 2
            assert all(isinstance(i, Disconnected) for i in between)
        finally:
            await stream.close()
            await asyncio.to_thread(second.stop)
    finally:
        if not stopped_first:
            first.stop()


async def test_unreachable_server_backs_off_and_close_ends_it():
    url = f"http://127.0.0.1:{free_port()}"
    stream = EventStream(url, str(uuid.uuid4()), initial_backoff=0.2, max_backoff=0.4)
    it = aiter(stream)
    first = await next_item(it)
    assert isinstance(first, Disconnected) and first.reason == "connection refused" and first.attempt == 1
    second = await next_item(it)
    assert isinstance(second, Disconnected) and second.attempt == 2
    assert second.retry_in <= 0.4
    with pytest.raises(Unreachable):
        await stream.send({"x": 1})
    await stream.close()
    with pytest.raises(StopAsyncIteration):
        await next_item(it, 3)


# --------------------------------------------------------------------------------------------------------------
# a scripted websockets server


class ScriptedWS:
    """Each connection runs `script(ws, n)`; `reject` (status or None) refuses the handshake."""

    def __init__(self, script=None, reject: int | None = None) -> None:
        self.script = script
        self.reject = reject
        self.received: list[list[str]] = []
        self.paths: list[str] = []
        self.headers: list[dict] = []

    async def __aenter__(self):
        async def process_request(connection, request):
            self.paths.append(request.path)
            self.headers.append(dict(request.headers.raw_items()))
            if self.reject:
                return connection.respond(HTTPStatus(self.reject), "no\n")
            return None

        async def handler(ws):
            msgs: list[str] = []
            self.received.append(msgs)
            n = len(self.received)

            async def reader():
                async for m in ws:
                    msgs.append(m)

            task = asyncio.create_task(reader())
            try:
                await self.script(ws, n)
            finally:
                task.cancel()

        self._server = await serve(handler, "127.0.0.1", 0, process_request=process_request)
        await self._server.__aenter__()
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/prefix"
        return self

    async def __aexit__(self, *exc):
        await self._server.__aexit__(*exc)


async def test_close_codes_4001_and_4004_are_fatal():
    async def close_with(code):
        async def script(ws, n):
            await asyncio.sleep(0.05)
            await ws.close(code, "bye")

        return script

    for code, error in ((4001, Unauthorized), (4004, NotFound)):
        async with ScriptedWS(await close_with(code)) as srv:
            cid = str(uuid.uuid4())
            items = []
            async for item in EventStream(srv.url, cid, "k", **FAST):
                items.append(item)
                assert len(items) < 5
            assert items[0] == Connected(1)
            assert isinstance(items[-1], Stopped) and isinstance(items[-1].error, error)
            assert srv.paths == [f"/prefix/sockets/events/{cid}"]
            assert srv.received[0][0] == json.dumps({"type": "auth", "session_api_key": "k"})


@pytest.mark.parametrize("status,fatal", [(401, True), (403, True), (404, False), (500, False)])
async def test_handshake_rejections(status, fatal):
    async with ScriptedWS(reject=status) as srv:
        stream = EventStream(srv.url, str(uuid.uuid4()), "k", initial_backoff=0.1, max_backoff=0.2)
        item = await next_item(aiter(stream))
        if fatal:
            assert isinstance(item, Stopped) and isinstance(item.error, Unauthorized)
        else:
            assert isinstance(item, Disconnected) and str(status) in item.reason
        await stream.close()
        assert all(v != "k" for v in srv.headers[0].values())  # no key header either


async def test_clean_and_abnormal_closes_reconnect_and_backoff_resets():
    async def script(ws, n):
        await ws.send(json.dumps({"kind": "PauseEvent", "id": f"e{n}", "timestamp": "t", "source": "user"}))
        await ws.close(1000 if n == 1 else 1011)

    async with ScriptedWS(script) as srv:
        stream = EventStream(srv.url, str(uuid.uuid4()), initial_backoff=0.05, max_backoff=0.2)
        it = aiter(stream)
        got = [await next_item(it) for _ in range(6)]
        await stream.close()
    kinds = [type(i).__name__ for i in got]
    assert kinds == ["Connected", "Frame", "Disconnected", "Connected", "Frame", "Disconnected"]
    assert got[2].attempt == 1 and "1000" in got[2].reason
    assert got[5].attempt == 1 and "1011" in got[5].reason  # each connection delivered a frame: reset
    assert got[3] == Connected(2)


async def test_garbage_frames_do_not_kill_the_stream():
    async def script(ws, n):
        await ws.send("this is not json {")
        await ws.send(b"\xff\xfe\x00 binary")
        await ws.send("[1, 2, 3]")
        await ws.send(json.dumps({"kind": "FutureEvent", "id": "f1", "novel": True}))
        await ws.send(json.dumps({"kind": "MessageEvent", "id": "m1", "llm_message": "wrong type"}))
        await ws.send(json.dumps({"kind": "PauseEvent", "id": "p1", "timestamp": "t", "source": "user"}))
        await ws.wait_closed()

    async with ScriptedWS(script) as srv:
        stream = EventStream(srv.url, str(uuid.uuid4()), **FAST)
        it = aiter(stream)
        assert await next_item(it) == Connected(1)
        frames = [await next_item(it) for _ in range(6)]
        await stream.close()
    assert all(isinstance(f, Frame) for f in frames)
    assert [type(f.event).__name__ for f in frames] == ["UnknownEvent"] * 5 + ["PauseEvent"]
    assert "not valid JSON" in frames[0].event.parse_error
    assert "not UTF-8" in frames[1].event.parse_error
    assert frames[3].event.kind == "FutureEvent" and frames[3].raw["novel"] is True
    assert frames[4].event.parse_error  # known kind, malformed body
    assert srv.received[0] == []  # no key: no auth frame


async def test_cancelling_the_consumer_closes_the_socket(recorded_connects):
    _, sockets = recorded_connects

    async def script(ws, n):
        await ws.wait_closed()

    async with ScriptedWS(script) as srv:
        stream = EventStream(srv.url, str(uuid.uuid4()), **FAST)
        connected = asyncio.Event()

        async def consume():
            async for item in stream:
                if isinstance(item, Connected):
                    connected.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(connected.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sockets and sockets[0].state.name == "CLOSED"
        assert not stream.connected


def test_decode_frame_never_raises():
    assert isinstance(decode_frame("{" * 100_000).event, UnknownEvent)
    assert isinstance(decode_frame("null").event, UnknownEvent)
    f = decode_frame(json.dumps({"kind": "ServerErrorEvent", "id": "x", "code": "ValidationError", "detail": "bad"}))
    assert isinstance(f.event, ServerErrorEvent) and f.raw["code"] == "ValidationError"
    assert events_url("https://h.example/p/", "abc") == "wss://h.example/p/sockets/events/abc"
    assert events_url("http://h:8000", "abc") == "ws://h:8000/sockets/events/abc"


async def test_a_conversation_id_that_is_not_a_uuid_stops_at_once():
    items = [i async for i in EventStream("http://127.0.0.1:1", "not-a-uuid")]
    assert len(items) == 1 and isinstance(items[0], Stopped) and isinstance(items[0].error, NotFound)


async def test_a_silent_dead_link_is_noticed_by_pings():
    """A server that completes the handshake and then never answers anything (not even pings)."""
    import base64
    import hashlib

    writers = []

    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.decode().split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        await writer.drain()
        writers.append(writer)  # then silence: no pongs, no frames

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        stream = EventStream(url, str(uuid.uuid4()), ping_interval=0.3, ping_timeout=0.5, close_timeout=0.3)
        it = aiter(stream)
        assert await next_item(it) == Connected(1)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        dropped = await next_item(it, 5)
        assert isinstance(dropped, Disconnected), dropped
        assert loop.time() - t0 < 3
        await stream.close()
    finally:
        for w in writers:
            w.close()
        server.close()


async def test_client_builds_a_stream_with_its_key(demo_server_keyed, tmp_path):
    url = url_of(demo_server_keyed)
    cid = await new_conversation(url, tmp_path, KEY)
    async with AgentClient(url + "/", KEY) as client:
        stream = client.event_stream(cid, **FAST)
    it = aiter(stream)
    try:
        assert await next_item(it) == Connected(1)
        assert is_full_state(await next_item(it))
    finally:
        await stream.close()
