"""A 1.58 server that is dormant (deferred init) refuses every socket with HTTP 403 at the handshake, the same
status as a wrong key. The stream asks `GET /api/init` before deciding: dormant → keep waiting (slowly) and
resume by itself after `init`; a real wrong key → stop with `Unauthorized`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.fixtures_demo import INIT_KEY
from tests.proxy import DroppingProxy
from tests.scripted_server import Reply, ScriptedServer
from tui.client import AgentClient, Connected, Disconnected, Dormant, EventStream, Frame, Stopped, Unauthorized
from tui.protocol import StartConversationRequest

pytestmark = pytest.mark.timeout(60)

FAST = {"initial_backoff": 0.05, "max_backoff": 0.2, "open_timeout": 5.0}


class DormantGate(DroppingProxy):
    """What 1.58 does in front of the embedded (1.43-style) server: socket handshakes get HTTP 403 while `refuse`
    is set; every other request goes through."""

    refuse = True
    refused = 0

    def _client_bytes(self, data: bytes, pair) -> bool:
        first_line = data.split(b"\r\n", 1)[0]
        if self.refuse and first_line.startswith(b"GET ") and b"/sockets/" in first_line:
            self.refused += 1
            pair[0].write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            return False
        return True


async def next_item(it, timeout: float = 15.0) -> Any:
    return await asyncio.wait_for(anext(it), timeout)


async def test_a_dormant_server_is_waited_for_and_the_socket_resumes_after_init(dormant_server, tmp_path):
    host, port = dormant_server.base_url.split("//", 1)[1].split("/")[0].split(":")
    gate = await DormantGate(host, int(port)).start()
    cid = str(uuid.uuid4())
    stream = EventStream(gate.base_url, cid, **FAST)
    it = aiter(stream)
    try:
        waits = [await next_item(it) for _ in range(3)]
        for item in waits:  # waiting, never "wrong session key", never stopped
            assert isinstance(item, Disconnected), item
            assert isinstance(item.error, Dormant)
            assert "waiting to be initialised" in item.reason and "openhands-tui init" in item.reason
            assert item.retry_in >= 0.2  # slowly: not the quick first back-off steps
        assert gate.refused >= 3

        async with AgentClient(gate.base_url) as client:
            await client.init(INIT_KEY)
            req = StartConversationRequest.build(model="demo/scripted", working_dir=str(tmp_path))
            await client.create_conversation(req.model_copy(update={"conversation_id": cid}))
        gate.refuse = False  # initialised: the server accepts sockets again

        item = await next_item(it)
        while isinstance(item, Disconnected):  # one that was already scheduled
            item = await next_item(it)
        assert item == Connected(1)
        frame = await next_item(it)
        assert isinstance(frame, Frame) and frame.event.kind == "ConversationStateUpdateEvent"
    finally:
        await stream.close()
        await gate.stop()


def _gate(init_reply: Reply):
    def handler(method: str, path: str, body: Any) -> Reply:
        if path.startswith("/sockets/"):
            return Reply(403, {"detail": "Forbidden"})
        if path == "/api/init":
            return init_reply
        return Reply(404, {"detail": "Not Found"})

    return handler


@pytest.mark.parametrize(
    "init_reply",
    [
        Reply(
            404, {"detail": "server is not running with deferred_init=True; the /api/init endpoint is not available"}
        ),
        Reply(200, {"state": "ready", "error": None}),
        Reply(500, {"detail": "Internal Server Error"}),
    ],
    ids=["normal-server", "initialised", "cannot-tell"],
)
async def test_a_403_on_a_server_that_is_not_dormant_is_still_a_wrong_key(init_reply):
    async with ScriptedServer(_gate(init_reply)) as srv:
        items = [item async for item in EventStream(srv.url, str(uuid.uuid4()), "wrong-key", **FAST)]
    assert len(items) == 1
    assert isinstance(items[0], Stopped) and isinstance(items[0].error, Unauthorized)
    assert [r.route for r in srv.requests] == [
        f"/sockets/events/{srv.requests[0].route.rsplit('/', 1)[1]}",
        "/api/init",
    ]
    assert srv.requests[1].headers.get("x-session-api-key") == "wrong-key"  # the probe travels like any REST call


async def test_a_dormant_answer_to_the_probe_keeps_the_stream_waiting():
    async with ScriptedServer(_gate(Reply(200, {"state": "dormant", "error": None}))) as srv:
        stream = EventStream(srv.url, str(uuid.uuid4()), **FAST)
        it = aiter(stream)
        try:
            items = [await next_item(it) for _ in range(2)]
        finally:
            await stream.close()
    assert all(isinstance(i, Disconnected) and isinstance(i.error, Dormant) for i in items)
    assert "(state 'dormant')" in items[0].reason
