"""`tui.client.rest.AgentClient` against the embedded demo server (real loopback sockets), plus a few
hand-made servers for what the demo cannot do (dropped connections, bodies that are not JSON)."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tui.client import (
    AgentClient,
    AgentServerError,
    Dormant,
    InvalidRequest,
    NotFound,
    ServerFailure,
    Unauthorized,
    Unreachable,
    error_from_response,
)
from tui.protocol import MessageEvent, StartConversationRequest

pytestmark = pytest.mark.timeout(30)

KEY = "test-session-key"
INIT_KEY = "test-init-key"


def url_of(server: Any) -> str:
    return server if isinstance(server, str) else server.base_url


def new_request(tmp_path) -> StartConversationRequest:
    return StartConversationRequest.build(model="demo/scripted", working_dir=str(tmp_path))


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {timeout} s (last value {value!r})")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------------------------
# the happy path against the demo server


async def test_create_send_and_page_through_events(demo_server, tmp_path):
    async with AgentClient(url_of(demo_server)) as client:
        assert await client.health() is True
        info = await client.server_info()
        assert info.version

        conv = await client.create_conversation(new_request(tmp_path))
        assert conv.id
        assert (await client.get_conversation(conv.id)).id == conv.id

        await client.send_message(conv.id, "[text] hello there")

        async def agent_replied():
            events = await client.all_events(conv.id)
            return [e for e in events if isinstance(e, MessageEvent) and e.source == "agent"]

        replies = await wait_for(agent_replied)
        assert replies[0].text

        everything = await client.all_events(conv.id)
        ids = [e.id for e in everything]
        assert len(ids) == len(set(ids)) >= 2
        assert any(isinstance(e, MessageEvent) and e.source == "user" and "hello there" in e.text for e in everything)

        # Page through two at a time: the same events, same order, nothing lost or repeated.
        paged: list[str] = []
        page_id = None
        pages = 0
        while True:
            events, page_id = await client.search_events(conv.id, page_id=page_id, limit=2)
            assert len(events) <= 2
            paged.extend(e.id for e in events)
            pages += 1
            if page_id is None:
                break
            assert pages < 100
        assert paged == ids
        assert pages >= 2
        assert await client.count_events(conv.id) == len(ids)

        # Newest first.
        newest, _ = await client.search_events(conv.id, limit=1, descending=True)
        assert newest[0].id == ids[-1]

        # The wire kind is translated to the class path the server filters on.
        messages, _ = await client.search_events(conv.id, kind="MessageEvent")
        assert messages and all(isinstance(e, MessageEvent) for e in messages)
        assert await client.count_events(conv.id, kind="MessageEvent") == len(messages)
        users, _ = await client.search_events(conv.id, source="user")
        assert users and all(e.source == "user" for e in users)

        # From a timestamp on (inclusive).
        since = await client.all_events(conv.id, timestamp_gte=everything[-1].timestamp)
        assert everything[-1].id in [e.id for e in since]

        one = await client.get_event(conv.id, replies[0].id)
        assert one.id == replies[0].id and isinstance(one, MessageEvent)


async def test_finish_gives_a_final_response(demo_server, tmp_path):
    async with AgentClient(url_of(demo_server)) as client:
        conv = await client.create_conversation(new_request(tmp_path))
        await client.send_message(conv.id, "[finish] wrap it up")

        async def done():
            c = await client.get_conversation(conv.id)
            return c.status.is_terminal() and c

        await wait_for(done)
        assert (await client.final_response(conv.id)).strip()


async def test_search_follows_every_page_and_batch_get(demo_server, tmp_path):
    async with AgentClient(url_of(demo_server)) as client:
        created = [(await client.create_conversation(new_request(tmp_path))).id for _ in range(5)]
        found = await client.search_conversations(limit=2)  # 3 pages at least
        found_ids = [c.id for c in found]
        assert len(found_ids) == len(set(found_ids))
        assert set(created) <= set(found_ids)
        assert await client.count_conversations() == len(found_ids)

        unknown = str(uuid.uuid4())
        got = await client.get_conversations([created[1], unknown, created[0]])
        assert [g.id if g else None for g in got] == [created[1], None, created[0]]

        # 150 ids: the server refuses 100 or more in one call, so the client must chunk.
        ids = [str(uuid.uuid4()) for _ in range(148)] + [created[2], created[3]]
        got = await client.get_conversations(ids)
        assert len(got) == 150
        assert got[:148] == [None] * 148
        assert [g.id for g in got[148:]] == [created[2], created[3]]

        await client.rename_conversation(created[0], "Renamed by test")
        assert (await client.get_conversation(created[0])).title == "Renamed by test"

        await client.delete_conversation(created[4])
        with pytest.raises(NotFound):
            await client.get_conversation(created[4])


async def test_invalid_request_is_summarised(demo_server):
    async with AgentClient(url_of(demo_server)) as client:
        with pytest.raises(InvalidRequest) as info:
            await client.search_conversations(limit=0)
        assert info.value.status == 422
        assert "limit" in info.value.message
        assert url_of(demo_server).rstrip("/") in info.value.message


# --------------------------------------------------------------------------------------------------------------
# errors a user would see


async def test_wrong_or_missing_key_is_unauthorized_without_leaking_it(demo_server_keyed):
    url = url_of(demo_server_keyed)
    secret = "wrong-key-do-not-print"
    async with AgentClient(url, secret) as client:
        with pytest.raises(Unauthorized) as info:
            await client.search_conversations()
        err = info.value
        assert err.status == 401
        assert url.rstrip("/") in err.message
        assert "--session-key-env" in err.message
        assert secret not in err.message and secret not in repr(err) and secret not in str(err)
        assert secret not in repr(client)
        # /health needs no key: the server is up, the key is wrong.
        assert await client.health() is True

    async with AgentClient(url) as client:
        with pytest.raises(Unauthorized):
            await client.count_conversations()

    async with AgentClient(url, KEY) as client:
        assert isinstance(await client.count_conversations(), int)


async def test_unknown_conversation_is_not_found_whatever_the_server_says(demo_server_143):  # 1.43.1 behaviour
    missing = str(uuid.uuid4())
    async with AgentClient(url_of(demo_server_143)) as client:
        with pytest.raises(NotFound) as info:  # 404
            await client.get_conversation(missing)
        assert info.value.status == 404
        assert missing in info.value.message

        for call in (client.pause, client.interrupt, client.delete_conversation):  # 400 "Bad Request" on the server
            with pytest.raises(NotFound) as info:
                await call(missing)
            assert info.value.status == 400, call.__name__

        with pytest.raises(NotFound) as info:  # 200 {"success": false}
            await client.rename_conversation(missing, "x")
        assert info.value.status == 200

        with pytest.raises(NotFound):
            await client.send_message(missing, "hello")
        with pytest.raises(NotFound):
            await client.search_events(missing)
        with pytest.raises(NotFound):
            await client.run(missing)


async def test_run_while_running_counts_as_success(demo_server, tmp_path):
    async with AgentClient(url_of(demo_server)) as client:
        conv = await client.create_conversation(new_request(tmp_path))
        await client.send_message(conv.id, "[slow] take your time")

        async def running():
            return (await client.get_conversation(conv.id)).status.is_busy()

        await wait_for(running)
        assert await client.run(conv.id) is False  # 409 on the wire, no exception
        await client.interrupt(conv.id)


async def test_dormant_server_says_how_to_wake_it_and_init_wakes_it(dormant_server):
    url = url_of(dormant_server)
    async with AgentClient(url) as client:
        with pytest.raises(Dormant) as info:
            await client.search_conversations()
        assert info.value.status == 503
        assert "openhands-tui init --init-key-env VAR" in info.value.message
        assert url.rstrip("/") in info.value.message
        assert await client.health() is True

        status = await client.init_status()
        assert status is not None and status.state == "dormant"

        with pytest.raises(Unauthorized) as info:
            await client.init("not-the-init-key")
        assert "not-the-init-key" not in info.value.message

        woke = await client.init(INIT_KEY)
        assert woke.state == "ready"
        assert (await client.init_status()).state == "ready"
        assert isinstance(await client.count_conversations(), int)


async def test_init_status_is_none_on_a_normal_server(demo_server):
    async with AgentClient(url_of(demo_server)) as client:
        assert await client.init_status() is None


async def test_closed_port_is_unreachable():
    url = f"http://127.0.0.1:{free_port()}"
    async with AgentClient(url, "some-key") as client:
        with pytest.raises(Unreachable) as info:
            await client.search_conversations()
        assert info.value.message == f"cannot reach {url}: connection refused"
        assert info.value.status is None
        with pytest.raises(Unreachable):
            await client.health()


async def test_unknown_host_is_unreachable():
    async with AgentClient("http://no-such-host.invalid:8000", timeout=3) as client:
        with pytest.raises(Unreachable) as info:
            await client.count_conversations()
        assert "cannot reach http://no-such-host.invalid:8000" in info.value.message


async def test_next_call_survives_the_connection_drop_after_a_500(demo_server_143):  # 1.43.1 behaviour
    # The real server drops the keep-alive connection after an unhandled 500 without saying so; the demo
    # server answers its 500 with `Connection: close`, so here httpx never reuses it. The retry itself is
    # pinned down by the RawServer tests below.
    async with AgentClient(url_of(demo_server_143)) as client:
        await client.count_conversations()  # a pooled keep-alive connection now exists
        with pytest.raises(ServerFailure) as info:
            await client.search_conversations(limit=101)  # the server's `assert limit <= 100`
        assert info.value.status == 500
        # The server drops the pooled connection after an unhandled 500: the next calls must still work.
        assert isinstance(await client.count_conversations(), int)
        assert isinstance(await client.search_conversations(), list)


async def test_unknown_event_id_is_not_found(demo_server, tmp_path):
    async with AgentClient(url_of(demo_server)) as client:
        conv = await client.create_conversation(new_request(tmp_path))
        with pytest.raises(NotFound):  # a 500 "Unknown event_id" on the real server
            await client.get_event(conv.id, str(uuid.uuid4()))
        assert (await client.get_conversation(conv.id)).id == conv.id


# --------------------------------------------------------------------------------------------------------------
# a scripted raw HTTP server: which requests get an answer and which get the connection dropped


class RawServer:
    """HTTP/1.1 on loopback. `drop(conn_no, req_no_on_conn)` decides whether to close without answering."""

    def __init__(self, drop: Callable[[int, int], bool]) -> None:
        self.drop = drop
        self.requests: list[tuple[int, str, str]] = []  # (connection number, method, path)
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn = self.connections
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                if length:
                    await reader.readexactly(length)
                n += 1
                self.requests.append((conn, method, path))
                if self.drop(conn, n):
                    writer.close()
                    return
                body = b'{"success": true}' if "count" not in path else b"3"
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def test_post_is_retried_once_on_a_stale_reused_connection():
    # Connection 1: first request answered, second dropped (the server closed a pooled connection).
    async with RawServer(drop=lambda conn, n: conn == 1 and n == 2) as srv:
        async with AgentClient(srv.url) as client:
            await client.interrupt(str(uuid.uuid4()))
            await client.interrupt(str(uuid.uuid4()))  # dropped on the reused connection, resent on a new one
        assert [c for c, _, _ in srv.requests] == [1, 1, 2]
        assert all(m == "POST" for _, m, _ in srv.requests)


async def test_post_on_a_fresh_connection_is_not_resent():
    # Every connection drops its first request: a POST on a fresh connection may have been acted on.
    async with RawServer(drop=lambda conn, n: n == 1) as srv:
        async with AgentClient(srv.url) as client:
            with pytest.raises(Unreachable) as info:
                await client.send_message(str(uuid.uuid4()), "do not send me twice")
        assert len(srv.requests) == 1
        assert info.value.message.startswith(f"cannot reach {srv.url}: ")


async def test_get_is_retried_once_and_only_once():
    async with RawServer(drop=lambda conn, n: conn == 1) as srv:
        async with AgentClient(srv.url) as client:
            assert await client.count_conversations() == 3
        assert len(srv.requests) == 2

    async with RawServer(drop=lambda conn, n: True) as srv:
        async with AgentClient(srv.url) as client:
            with pytest.raises(Unreachable):
                await client.count_conversations()
        assert len(srv.requests) == 2


# --------------------------------------------------------------------------------------------------------------
# URLs, headers and bodies that are not what the protocol promises (httpx.MockTransport)


def mock_client(handler: Callable[[httpx.Request], httpx.Response], base_url: str = "http://agent.test", key=None):
    return AgentClient(base_url, key, transport=httpx.MockTransport(handler))


async def test_path_prefix_key_header_and_kind_translation():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "next_page_id": None})

    async with mock_client(handler, "http://agent.test/prefix/", key="sekrit") as client:
        await client.search_events("c1", kind="ActionEvent", timestamp_gte="2025-01-01T00:00:00")
        await client.search_conversations()
    req = seen[0]
    assert req.url.path == "/prefix/api/conversations/c1/events/search"
    assert req.url.params["kind"] == "openhands.sdk.event.llm_convertible.action.ActionEvent"
    assert req.url.params["timestamp__gte"] == "2025-01-01T00:00:00"
    assert seen[1].url.path == "/prefix/api/conversations/search"
    for r in seen:
        assert r.headers["X-Session-API-Key"] == "sekrit"
        assert "sekrit" not in str(r.url)


async def test_send_message_body_always_says_run():
    bodies: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"success": True})

    async with mock_client(handler) as client:
        await client.send_message("c1", "hi", run=False)
        await client.send_message("c1", "hi")
        await client.respond_to_confirmation("c1", False, "not that")
    assert bodies[0] == {"role": "user", "content": [{"type": "text", "text": "hi"}], "run": False}
    assert bodies[1]["run"] is True
    assert bodies[2] == {"accept": False, "reason": "not that"}


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"items": "nope"}),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, json={"items": [{"no": "id"}], "next_page_id": None}),
    ],
)
async def test_unexpected_bodies_raise_server_failure(response):
    async with mock_client(lambda request: response) as client:
        with pytest.raises(ServerFailure) as info:
            await client.search_conversations()
        assert "http://agent.test" in info.value.message


async def test_unexpected_count_and_info_bodies():
    async with mock_client(lambda r: httpx.Response(200, json={"count": 3})) as client:
        with pytest.raises(ServerFailure):
            await client.count_conversations()
    async with mock_client(lambda r: httpx.Response(200, content=b"\xff\xfe")) as client:
        with pytest.raises(ServerFailure):
            await client.server_info()
    async with mock_client(lambda r: httpx.Response(200, json=[None])) as client:
        with pytest.raises(ServerFailure):
            await client.get_conversations(["a", "b"])  # wrong length


def test_error_mapping_of_server_bodies():
    def resp(status: int, body: Any) -> httpx.Response:
        return httpx.Response(status, json=body, request=httpx.Request("GET", "http://agent.test/api/x"))

    e = error_from_response(
        resp(
            503,
            {
                "detail": "Internal Server Error",
                "exception": "503: server is in deferred-init state 'dormant'; call POST /api/init first",
            },
        ),
        route_kind="list",
    )
    assert isinstance(e, Dormant) and "'dormant'" in e.message
    e = error_from_response(
        resp(503, {"detail": "Internal Server Error", "exception": "503: Conversation service is not available"}),
        route_kind="list",
    )
    assert isinstance(e, ServerFailure) and "Conversation service is not available" in e.message
    e = error_from_response(
        resp(500, {"detail": "Internal Server Error", "exception": "boom", "error_id": "x"}), route_kind="list"
    )
    assert isinstance(e, ServerFailure) and "boom" in e.message and e.detail == "boom"
    e = error_from_response(
        resp(
            422,
            {
                "detail": [
                    {"type": "uuid_parsing", "loc": ["path", "conversation_id"], "msg": "Input should be a valid UUID"}
                ]
            },
        ),
        route_kind="conversation",
    )
    assert isinstance(e, InvalidRequest) and "conversation_id: Input should be a valid UUID" in e.message
    e = error_from_response(
        resp(400, {"detail": "Bad Request"}), route_kind="conversation_control", subject="conversation abc"
    )
    assert isinstance(e, NotFound) and "conversation abc" in e.message
    e = error_from_response(resp(400, {"detail": "Bad Request"}), route_kind="conversation")
    assert isinstance(e, InvalidRequest)
    e = error_from_response(resp(409, {"detail": "Conversation already running."}), route_kind="conversation")
    assert type(e).__name__ == "Conflict" and isinstance(e, AgentServerError)


async def test_client_repr_and_messages_never_show_credentials():
    client = AgentClient("http://user:pw@agent.test:9000/p", "k-123")
    try:
        assert "k-123" not in repr(client) and "pw" not in repr(client)
        assert client.display_url == "http://agent.test:9000/p"
    finally:
        await client.aclose()


def test_a_key_that_cannot_go_in_a_header_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as info:
        AgentClient("http://agent.test", "bad\nkéy-value")
    assert "kéy-value" not in str(info.value) and "header" in str(info.value)
