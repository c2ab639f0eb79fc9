"""Every server error status and close code of the protocol, and an unreachable, slow (10 s) and dormant server,
each give the intended typed error, message and state, without a crash: REST (typed error + message), the
session (connection state + notice; the worker ends cleanly) and the headless verbs (exit code + stderr)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest

from tests.fixtures_demo import FAST_KNOBS, SESSION_KEY
from tests.helpers import new_conversation
from tui.client import (
    AgentClient,
    Conflict,
    Disconnected,
    Dormant,
    EventStream,
    InvalidRequest,
    NotFound,
    ServerFailure,
    Stopped,
    Unauthorized,
    Unreachable,
)
from tui.demo import DemoServer
from tui.session import ChangeKind, ConnectionState, ConversationSession

CID = str(uuid.uuid4())


def mock_client(status: int, body: object) -> AgentClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return AgentClient("http://agents.example:8000", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "status,body,call,error,words",
    [
        (401, {"detail": "Unauthorized"}, "get", Unauthorized, "wrong or missing session key"),
        (404, {"detail": "Not Found"}, "get", NotFound, "not found"),
        (400, {"detail": "Bad Request"}, "interrupt", NotFound, "not found"),
        (409, {"detail": "run already in progress"}, "send", Conflict, "run already in progress"),
        (
            422,
            {"detail": [{"loc": ["body", "limit"], "msg": "Input should be greater than 0"}]},
            "send",
            InvalidRequest,
            "limit: Input should be greater than 0",
        ),
        (500, {"detail": "Internal Server Error", "exception": "KeyError: 'boom'"}, "get", ServerFailure, "KeyError"),
        (
            503,
            {
                "detail": "Service Unavailable",
                "exception": "503: server is in deferred-init state 'dormant'; call POST /api/init first",
            },
            "list",
            Dormant,
            "openhands-tui init",
        ),
    ],
)
async def test_rest_statuses_become_typed_errors_with_a_message(status, body, call, error, words):
    async with mock_client(status, body) as client:
        calls = {
            "get": lambda: client.get_conversation(CID),
            "interrupt": lambda: client.interrupt(CID),
            "send": lambda: client.send_message(CID, "hi"),
            "list": lambda: client.search_conversations(),
        }
        with pytest.raises(error) as info:
            await calls[call]()
    assert words in info.value.message
    assert "agents.example:8000" in info.value.message  # names the server


async def run_session(session: ConversationSession, until, timeout: float = 15):
    notices: list[str] = []
    session.subscribe(lambda ch: notices.append(ch.message) if ch.kind is ChangeKind.NOTICE else None)
    task = asyncio.create_task(session.run())
    try:
        ok = await session.wait_until(until, timeout)
        session.seen = session.connection  # the state when the predicate held (cancelling stops the session)
        return ok, notices, task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # no exception escapes the worker body


async def test_wrong_key_stops_the_session_with_unauthorized(demo_server_keyed):
    async with AgentClient(demo_server_keyed.base_url, SESSION_KEY) as good:
        cid = await new_conversation(good)
    async with AgentClient(demo_server_keyed.base_url, "wrong-key") as client:
        session = ConversationSession(client, cid)
        ok, notices, _task = await run_session(session, lambda: session.connection.state is ConnectionState.STOPPED)
    assert ok and isinstance(session.connection.error, Unauthorized), session.connection
    assert any("session key" in n for n in notices), notices
    assert not any("wrong-key" in n for n in notices)


async def test_socket_close_4001_stops_with_unauthorized(demo_server_keyed):
    async with AgentClient(demo_server_keyed.base_url, SESSION_KEY) as client:
        cid = await new_conversation(client)
        session = ConversationSession(client, cid, stream_factory=lambda c, i: EventStream(c.base_url, i, "bad"))
        ok, _notices, _ = await run_session(session, lambda: session.connection.state is ConnectionState.STOPPED)
    assert ok and isinstance(session.connection.error, Unauthorized), session.connection


async def test_socket_close_4004_when_the_conversation_is_gone(demo_server):
    """The socket of a deleted conversation closes with 4004: the session stops with NotFound."""
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        await client.delete_conversation(cid)
        stream = EventStream(client.base_url, cid)
        items = [item async for item in stream]
        assert isinstance(items[-1], Stopped) and isinstance(items[-1].error, NotFound), items
        session = ConversationSession(client, cid)
        ok, notices, _ = await run_session(session, lambda: session.connection.state is ConnectionState.STOPPED)
    assert ok and isinstance(session.connection.error, NotFound), session.connection
    assert any("deleted" in n or "not found" in n for n in notices), notices


async def test_dormant_socket_1006_is_a_retry_not_a_stop(dormant_server_143):  # 1.43.1 behaviour
    stream = EventStream(dormant_server_143.base_url, CID, initial_backoff=0.05, max_backoff=0.1)
    items = []
    async for item in stream:
        items.append(item)
        if isinstance(item, Disconnected) or len(items) > 5:
            break
    await stream.close()
    assert isinstance(items[-1], Disconnected) and "1006" in items[-1].reason, items


async def test_dormant_server_session_shows_how_to_wake_it(dormant_server_143):  # 1.43.1 behaviour
    async with AgentClient(dormant_server_143.base_url) as client:
        session = ConversationSession(
            client, CID, stream_factory=lambda c, i: EventStream(c.base_url, i, initial_backoff=0.05)
        )
        with pytest.raises(Dormant) as info:
            await client.get_conversation(CID)
        assert "openhands-tui init" in info.value.message
        ok, _, _task = await run_session(session, lambda: "openhands-tui init" in session.connection.reason, 10)
    assert ok, session.seen  # never a crash: it keeps trying, and says how to wake the server
    assert session.seen.state in (ConnectionState.RESYNCING, ConnectionState.RECONNECTING), session.seen


async def test_handshake_403_stops_with_unauthorized():
    from websockets.asyncio.server import serve
    from websockets.datastructures import Headers
    from websockets.http11 import Response

    def reject(connection, request):
        return Response(403, "Forbidden", Headers([("Content-Length", "0")]), b"")

    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=reject) as server:
        port = server.sockets[0].getsockname()[1]
        items = [item async for item in EventStream(f"http://127.0.0.1:{port}", CID, "k")]
    assert isinstance(items[-1], Stopped) and isinstance(items[-1].error, Unauthorized), items


async def test_unreachable_server_session_reconnects_without_crashing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with AgentClient(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(Unreachable) as info:
            await client.get_conversation(CID)
        assert "connection refused" in info.value.message
        session = ConversationSession(client, CID)
        ok, _, _ = await run_session(session, lambda: session.connection.state is ConnectionState.RECONNECTING, 5)
    assert ok and "refused" in session.seen.reason, session.seen


# ------------------------------------------------------------------------------------- headless


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "OPENHANDS_TUI_STATE_DIR": "/tmp/openhands-tui-errors-test-state",
        "OPENHANDS_TUI_CONFIG_DIR": "/tmp/openhands-tui-errors-test-config-none",
    }
    env.pop("OPENHANDS_TUI_SERVERS", None)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


class SilentServer:
    """Accepts connections and never answers (a server stuck for longer than the client's 10 s timeout)."""

    def __enter__(self) -> SilentServer:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            with contextlib.suppress(OSError):
                conn, _ = self.sock.accept()
                self.conns.append(conn)  # read nothing, answer nothing

    def __exit__(self, *exc) -> None:
        self.stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


def test_headless_verbs_report_each_failure_with_exit_code_and_message():
    with (
        DemoServer(**FAST_KNOBS) as server,
        DemoServer(deferred_init=True, init_key="ik", **FAST_KNOBS) as dormant,
        SilentServer() as slow,
    ):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        cid = cli("--server", server.base_url, "new", "--model", "m", "--workdir", "/tmp/w").stdout.strip()
        cases = {
            "slow": (["--server", f"http://127.0.0.1:{slow.port}", "list"], 1, "timed out"),
            "unreachable": (["--server", f"http://127.0.0.1:{closed}", "list"], 1, "connection refused"),
            "dormant": (["--server", dormant.base_url, "list"], 1, "openhands-tui init"),
            "unknown": (["--server", server.base_url, "watch", str(uuid.uuid4())], 1, "not found"),
            "bad url": (["--server", "ftp://x", "list"], 2, "http"),
        }
        results: dict[str, tuple[subprocess.CompletedProcess, float]] = {}

        def run(name: str, argv: list[str]) -> None:
            t0 = time.monotonic()
            results[name] = (cli(*argv), time.monotonic() - t0)

        threads = [threading.Thread(target=run, args=(n, c[0])) for n, c in cases.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for name, (_argv, code, words) in cases.items():
            out, _took = results[name]
            assert out.returncode == code, (name, out.returncode, out.stderr)
            assert words in out.stderr, (name, out.stderr)
            assert "Traceback" not in out.stderr, (name, out.stderr)
        assert 9 < results["slow"][1] < 30  # the 10 s timeout, not a hang
        assert len(cid) >= 32
