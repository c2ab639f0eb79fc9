"""A full server (agent server 1.58 caps concurrent runs and answers 429): what to repeat, and how.

A 429 is never a delivery and never a reason to send a message's text again: a message send that got 429 was
stored (`ServerFull.stored`), and only its run is to be started (`POST /run`, repeated). A create that got 429
stored nothing: it is repeated with the same conversation id, so a create whose answer was lost cannot make two.
An approval that got 429 left the action pending: the accept is repeated.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tui.client import AgentClient, ServerFull, Unreachable
from tui.protocol import ConversationInfo, StartConversationRequest

__all__ = ["CAPACITY_BACKOFF", "create_when_room", "retry_while_full"]

CAPACITY_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between tries while the server is full

T = TypeVar("T")


async def retry_while_full(
    call: Callable[[], Awaitable[T]],
    *,
    on_wait: Callable[[bool], None] | None = None,
    delays: tuple[float, ...] = CAPACITY_BACKOFF,
    retry_unreachable: bool = False,
    limit: float | None = None,
) -> T:
    """`call()` until the server has room. `on_wait(True)` when it first answers full, `on_wait(False)` when the
    wait is over (either way). Other errors propagate; `Unreachable` too unless `retry_unreachable` (only for
    calls that are safe to repeat). After `limit` seconds of a full server its `ServerFull` propagates."""
    attempt = 0
    waiting = False
    started = time.monotonic()
    try:
        while True:
            try:
                return await call()
            except ServerFull:
                if limit is not None and time.monotonic() - started >= limit:
                    raise
            except Unreachable:
                if not retry_unreachable:
                    raise
            if not waiting and on_wait is not None:
                on_wait(True)
            waiting = True
            await asyncio.sleep(delays[min(attempt, len(delays) - 1)])
            attempt += 1
    finally:
        if waiting and on_wait is not None:
            on_wait(False)


async def create_when_room(
    client: AgentClient,
    request: StartConversationRequest,
    *,
    on_wait: Callable[[bool], None] | None = None,
    delays: tuple[float, ...] = CAPACITY_BACKOFF,
) -> ConversationInfo:
    """Create a conversation, asking again with the same conversation id while the server is full."""
    if not request.conversation_id:
        request = request.model_copy(update={"conversation_id": str(uuid.uuid4())})
    return await retry_while_full(lambda: client.create_conversation(request), on_wait=on_wait, delays=delays)
