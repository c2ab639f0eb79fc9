"""Small shared helpers for tests that drive sessions against the embedded server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from tui.client import AgentClient
from tui.protocol import MessageEvent, StartConversationRequest
from tui.session import ConnectionState, ConversationSession


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def new_conversation(client: AgentClient, *, confirm: bool = False, stream: bool = True) -> str:
    request = StartConversationRequest.build(
        model="demo/scripted", working_dir="/tmp/openhands-tui-test", confirm=confirm
    )
    request.agent["llm"]["stream"] = stream
    info = await client.create_conversation(request)
    return info.id


@contextlib.asynccontextmanager
async def following(client: AgentClient, conversation_id: str, **kwargs):
    """A session running in a background task, live before the body starts."""
    session = ConversationSession(client, conversation_id, **kwargs)
    task = asyncio.create_task(session.run())
    try:
        assert await session.wait_live(15), session.connection
        yield session
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def user_texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, MessageEvent) and e.source == "user"]


def live(session: ConversationSession) -> bool:
    return session.connection.state is ConnectionState.LIVE
