"""Keys stay with their server: neither the socket nor REST follows a redirect (the auth frame or the key's
header would go to wherever it points), and a key the server echoes back (an agent running `env`) is masked in
every text made for people: the screen and the clipboard (render), `watch`/`list` lines, JSON, notices, errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from websockets.asyncio.server import serve

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import following, new_conversation
from tests.hostile import HostileHTTP, Request, response
from tui.app import render
from tui.client import AgentClient, AgentServerError, Disconnected, EventStream
from tui.demo import DemoServer
from tui.headless.export import event_summary, to_markdown
from tui.protocol import MessageEvent
from tui.sanitize import MASK, json_text, one_line
from tui.session.changes import ChangeKind, SessionChange

KEY = "sk-echoed-4c1d2e3f4a5b6c7d8e9f"
CID = "3f2b8a8e-5a1d-4c4e-9a7e-1b2c3d4e5f60"


class AuthRecorder:
    """The other host: a real WebSocket server that records every frame (the auth frame would carry the key)."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.connections = 0

    async def __aenter__(self) -> AuthRecorder:
        async def handler(ws) -> None:
            self.connections += 1
            with contextlib.suppress(Exception):
                async for message in ws:
                    self.frames.append(str(message))

        self._server = await serve(handler, "127.0.0.1", 0)
        await self._server.__aenter__()
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.__aexit__(*exc)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_socket_never_follows_a_redirect_to_another_host(status):
    async with AuthRecorder() as other:

        async def redirect(request: Request, writer: asyncio.StreamWriter) -> None:
            target = f"ws://127.0.0.1:{other.port}{request.path}"
            writer.write(response(status, b"", {"Location": target}))

        async with HostileHTTP(redirect) as srv:
            stream = EventStream(srv.base_url, CID, KEY, initial_backoff=0.05, max_backoff=0.1)
            items: list = []

            async def collect() -> None:
                async for item in stream:
                    items.append(item)
                    if len(items) >= 2 or other.connections:
                        break

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collect(), 10)
            await stream.close()
        await asyncio.sleep(0.2)
        assert all(isinstance(i, Disconnected) for i in items), items
        assert "redirect" in items[0].reason and "not followed" in items[0].reason
        assert len(srv.requests) >= 2  # it asked our server again, never the other one
        assert other.connections == 0, "the socket followed the redirect"
        assert not any(KEY in frame for frame in other.frames)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_rest_never_follows_a_redirect(status):
    other_hits: list[Request] = []

    async def record(request: Request, writer: asyncio.StreamWriter) -> None:
        other_hits.append(request)
        writer.write(response(200, {"items": [], "next_page_id": None}))

    async with HostileHTTP(record) as other:

        async def redirect(request: Request, writer: asyncio.StreamWriter) -> None:
            writer.write(response(status, b"", {"Location": other.base_url + request.target}))

        async with HostileHTTP(redirect) as srv, AgentClient(srv.base_url, KEY) as client:
            with pytest.raises(AgentServerError) as caught:
                await client.search_conversations()
            assert str(status) in caught.value.message
    assert other_hits == [], "the key's header went to another host"


async def test_an_echoed_key_is_masked_wherever_server_text_is_shown():
    """The server echoes the session key back in a message (as an agent running `env` would): the screen's text,
    the clipboard, a `watch` line, `watch --json`, a list title, a notice and an error all show it masked."""
    with DemoServer(session_keys=[KEY], **FAST_KNOBS) as server:
        async with AgentClient(server.base_url, KEY) as client:
            cid = await new_conversation(client)
            await client.rename_conversation(cid, f"title {KEY}")
            async with following(client, cid) as session:
                item = await session.submit(f"[text] OH_KEY={KEY} done")
                assert await session.wait_until(lambda: item.id in session.settled, 20)
                echoed = [e for e in session.timeline if isinstance(e, MessageEvent) and KEY in e.text]
                assert echoed, "the server did not echo the key (the test would prove nothing)"
                event = echoed[0]
                shown = {
                    "screen": render.event_text(event, expanded=True).plain + render.message_body(event),
                    "clipboard": render.copy_text(event),
                    "watch": event_summary(event),
                    "watch --json": json_text(event.to_wire()),
                    "export": to_markdown(await client.get_conversation(cid), list(session.timeline)),
                    "list": one_line((await client.get_conversation(cid)).title or ""),
                    "notice": SessionChange(ChangeKind.NOTICE, cid, message=f"the server said {KEY}").message,
                    "error": AgentServerError(f"{server.base_url} failed: {KEY}", 500, {"exception": KEY}).message,
                }
                for where, text in shown.items():
                    assert KEY not in text, f"the key is shown in {where}"
                    assert MASK in text, f"{where} lost the text around the key"
                detail = AgentServerError("x", 500, {"exception": f"env: {KEY}"}).detail
                assert KEY not in json.dumps(detail)
