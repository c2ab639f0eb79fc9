"""`/sockets/session/{id}` (1.58): enveloped frames, exact resume by sequence number, stream slots.

One :class:`SessionChannel` per socket. The conversation publishes into it (``durable``, ``transient`` and
progress frames); a writer task drains it. Until the replay is sent the channel buffers what is published, then
drops buffered ``durable`` frames the replay already covered (no interleaving, no duplicates). A frame over the
frame cap, or more than the pending cap queued for a client that does not read, closes the socket with 1013.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from . import wire
from .agent import RunLimitReached
from .auth import NOT_FOUND, authenticate, is_auth_frame
from .models import Message
from .state import DemoState
from .store import Conversation

router = APIRouter()

REPLAY_PAGE = 100
STALL_SECONDS = 1.0  # a replay waits for the writer to drain, unless the client has stopped reading
FRAME_TOO_LARGE = (1013, "frame_too_large")
SLOW_CONSUMER = (1013, "slow_consumer")


def envelope(kind: str, **fields: Any) -> dict[str, Any]:
    """A frame with ``type`` first and null fields omitted (the server serializes with exclude_none)."""
    return {"type": kind, **{k: v for k, v in fields.items() if v is not None}}


class SessionChannel:
    """The per-socket FIFO between the conversation's publishers and the socket writer."""

    def __init__(self, max_frame_bytes: int, max_pending_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.max_pending_bytes = max_pending_bytes
        self.frames: deque[str] = deque()
        self.pending = 0
        self.wake = asyncio.Event()
        self.close_with: tuple[int, str] | None = None
        self.drain_first = False
        self.buffering = True
        self.buffer: list[tuple[int | None, str]] = []
        self.last_write = asyncio.get_running_loop().time()  # of the writer's last completed send

    # publishers (the conversation) ------------------------------------------------------------

    def publish(self, seq: int | None, text: str) -> None:
        """A serialized frame; ``seq`` for a ``durable`` one (the replay may already have sent it)."""
        if self.close_with is not None:
            return
        if self.buffering:
            self.buffer.append((seq, text))
        else:
            self.put(text)

    def put(self, text: str) -> None:
        """Queue one frame; overflow drops the connection, never a frame."""
        if self.close_with is not None:
            return
        if len(text.encode()) > self.max_frame_bytes:
            self.fail(FRAME_TOO_LARGE, drain=True)  # what was queued before it still goes out
            return
        self.frames.append(text)
        self.pending += len(text)
        if self.pending > self.max_pending_bytes:
            self.fail(SLOW_CONSUMER)
        self.wake.set()

    def fail(self, reason: tuple[int, str], drain: bool = False) -> None:
        if self.close_with is None:
            self.close_with = reason
            self.drain_first = drain
        self.wake.set()

    def go_live(self, through_seq: int | None) -> None:
        """Flush what was published during the replay, minus the events the replay already sent."""
        self.buffering = False
        buffered, self.buffer = self.buffer, []
        for seq, text in buffered:
            if seq is not None and through_seq is not None and seq <= through_seq:
                continue
            self.put(text)

    # the writer -------------------------------------------------------------------------------

    async def write(self, ws: WebSocket) -> None:
        while True:
            while self.frames and (self.close_with is None or self.drain_first):
                text = self.frames.popleft()
                await ws.send_text(text)
                self.pending -= len(text)
                self.last_write = asyncio.get_running_loop().time()
            if self.close_with is not None:
                code, reason = self.close_with
                await ws.close(code, reason)
                return
            self.wake.clear()
            await self.wake.wait()


async def _room(channel: SessionChannel, size: int) -> None:
    """Let the writer drain until ``size`` more fits in half the budget; a client that stopped reading gets no
    such grace (the replay goes on and the budget overflows)."""
    loop = asyncio.get_running_loop()
    while channel.pending and channel.pending + size > channel.max_pending_bytes // 2 and channel.close_with is None:
        if loop.time() - channel.last_write > STALL_SECONDS:
            return
        await asyncio.sleep(0.005)


async def _replay(conv: Conversation, channel: SessionChannel, start: int, through_seq: int) -> None:
    """Durable events ``start`` … ``through_seq`` from the log, in pages, paced by the writer."""
    for pos in range(start, through_seq + 1):
        text = json.dumps(envelope("durable", seq=pos, event=wire.event_for_wire(conv.log.get(pos))))
        if channel.pending + len(text) > channel.max_pending_bytes // 2:
            await _room(channel, len(text))
        elif (pos - start) % REPLAY_PAGE == 0:
            await asyncio.sleep(0)
        channel.put(text)
        if channel.close_with is not None:
            return


@router.websocket("/sockets/session/{conversation_id}")
async def session_socket(
    ws: WebSocket, conversation_id: str, after_seq: str | None = None, session_api_key: str | None = None
) -> None:
    st: DemoState = ws.app.state.demo
    if st.legacy:
        await ws.close(code=1008)  # no such route on 1.43: the upgrade is refused
        return
    try:
        cid = uuid.UUID(conversation_id)
        after = int(after_seq) if after_seq is not None else None
    except ValueError:
        await ws.close(code=1008)  # validation fails before accept: HTTP 403
        return
    if st.dormant:
        await ws.close(code=1013)  # the dormant gate refuses before accept: HTTP 403
        return
    if not await authenticate(ws, st, session_api_key):
        return
    conv = st.store.get(cid)
    if conv is None:
        await ws.close(*NOT_FOUND)
        return
    channel = SessionChannel(st.max_frame_bytes, st.max_pending_bytes)
    conv.session_channels.add(channel)
    snapshot = wire.event_for_wire(wire.state_update("full_state", conv.full_state(), None))
    channel.publish(None, json.dumps(envelope("transient", event=snapshot)))
    through_seq = len(conv.log) - 1 if len(conv.log) else None
    channel.put(json.dumps(envelope("sync", from_seq=after, through_seq=through_seq)))
    writer = asyncio.get_running_loop().create_task(channel.write(ws))
    try:
        if after is not None and through_seq is not None:
            await _replay(conv, channel, max(after + 1, 0), through_seq)
            channel.go_live(through_seq)
        else:
            channel.go_live(None)
        reader = asyncio.get_running_loop().create_task(_read(ws, st, conv, channel))
        await asyncio.wait([reader, writer], return_when=asyncio.FIRST_COMPLETED)
        reader.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        conv.session_channels.discard(channel)
        if not writer.done():
            writer.cancel()


async def _read(ws: WebSocket, st: DemoState, conv: Conversation, channel: SessionChannel) -> None:
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            await _handle_frame(st, conv, channel, message)
    except (WebSocketDisconnect, RuntimeError):
        return


async def _handle_frame(st: DemoState, conv: Conversation, channel: SessionChannel, message: Any) -> None:
    """A ``Message`` is a send with run=true (no acknowledgement); anything bad gets an ``error`` frame."""
    raw = message.get("text")
    try:
        if raw is None:
            raise ValueError("binary frames are not supported")
        data = json.loads(raw)
        if is_auth_frame(data):
            return
        msg = Message.model_validate(data)
        if msg.role != "user":
            raise AssertionError("Only user messages are allowed to be sent to the agent.")
        await st.engine.send_message(conv, msg.text(), run=True)
    except json.JSONDecodeError as exc:
        channel.publish(None, json.dumps(envelope("error", code="JSONDecodeError", detail=str(exc))))
    except ValidationError as exc:
        channel.publish(None, json.dumps(envelope("error", code="ValidationError", detail=str(exc))))
    except RunLimitReached as exc:
        detail = exc.message_saved(conv)
        channel.publish(None, json.dumps(envelope("error", code="ConversationRunLimitExceeded", detail=detail)))
    except (ValueError, AssertionError, TypeError) as exc:
        channel.publish(None, json.dumps(envelope("error", code=type(exc).__name__, detail=str(exc))))
