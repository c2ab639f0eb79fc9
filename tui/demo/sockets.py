"""`/sockets/events/{id}`: auth (query, header, first message), snapshot, resend, client frames."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from . import wire
from .agent import RunLimitReached
from .auth import NOT_FOUND, authenticate, is_auth_frame
from .models import Message
from .state import DemoState
from .store import Conversation, EventFilter, search_events

router = APIRouter()

REPLAY_CHUNK = 500


def _since(after_timestamp: str | None) -> str | None:
    if not after_timestamp:
        return None
    try:
        value = datetime.fromisoformat(after_timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value.isoformat()


async def _replay(
    conv: Conversation, queue: asyncio.Queue, resend_mode: str | None, after: str | None, upto: int
) -> None:
    """Persisted events present at subscribe time, in log order, in chunks (the loop stays responsive)."""
    if resend_mode == "all":
        flt = EventFilter()
    elif resend_mode == "since" and after is not None:
        flt = EventFilter(ts_gte=after)
    else:
        return
    page_id = None
    while True:
        items, page_id = search_events(conv.log, flt, page_id, REPLAY_CHUNK, False)
        for ev in items:
            pos = conv.log.position(ev["id"])
            if pos is not None and pos >= upto:
                return
            queue.put_nowait(json.dumps(wire.event_for_wire(ev)))
        if not page_id:
            return
        await asyncio.sleep(0)


async def _pump(ws: WebSocket, queue: asyncio.Queue) -> None:
    while True:
        frame = await queue.get()
        await ws.send_text(frame)


@router.websocket("/sockets/events/{conversation_id}")
async def events_socket(
    ws: WebSocket,
    conversation_id: str,
    resend_mode: str | None = None,
    after_timestamp: str | None = None,
    session_api_key: str | None = None,
    resend_all: bool = False,
) -> None:
    st: DemoState = ws.app.state.demo
    try:
        cid = uuid.UUID(conversation_id)
    except ValueError:
        await ws.close(code=1008)  # path validation fails before accept: HTTP 403
        return
    if st.dormant and not st.legacy:
        await ws.close(code=1013)  # 1.58's dormant gate refuses before accept: HTTP 403
        return
    if st.dormant:
        # The real 1.43 server accepts, then fails with ValueError("inactive_service"): the client
        # sees an abnormal closure (1006). Returning after accept drops the transport unclosed.
        await ws.accept()
        return
    if not await authenticate(ws, st, session_api_key):
        return
    conv = st.store.get(cid)
    if conv is None:
        await ws.close(*NOT_FOUND)
        return
    if resend_all and resend_mode is None:
        resend_mode = "all"
    queue: asyncio.Queue = asyncio.Queue()
    conv.subscribers.add(queue)
    queue.put_nowait(json.dumps(wire.event_for_wire(wire.state_update("full_state", conv.full_state(), None))))
    pump = asyncio.get_running_loop().create_task(_pump(ws, queue))
    replay = asyncio.get_running_loop().create_task(
        _replay(conv, queue, resend_mode, _since(after_timestamp), len(conv.log))
    )
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            await _handle_frame(st, conv, queue, message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        conv.subscribers.discard(queue)
        replay.cancel()
        pump.cancel()


async def _handle_frame(st: DemoState, conv: Conversation, queue: asyncio.Queue, message: Any) -> None:
    """A client frame: a ``Message`` is a send with run=true; anything bad gets a ServerErrorEvent."""
    try:
        raw = message.get("text")
        if raw is None:
            raise ValueError("binary frames are not supported")
        data = json.loads(raw)
        if is_auth_frame(data):
            return  # a redundant auth frame is ignored
        if conv.deleted:
            raise ValueError("inactive_service")
        msg = Message.model_validate(data)
        if msg.role != "user":
            raise AssertionError("Only user messages are allowed to be sent to the agent.")
        try:
            await st.engine.send_message(conv, msg.text(), run=True)
        except RunLimitReached:
            error = wire.server_error_event("ConversationRunLimitExceeded", RunLimitReached.message_saved(conv))
            queue.put_nowait(json.dumps(wire.event_for_wire(error)))
    except (ValidationError, ValueError, AssertionError, TypeError) as exc:
        code = "ValidationError" if isinstance(exc, ValidationError) else type(exc).__name__
        queue.put_nowait(json.dumps(wire.event_for_wire(wire.server_error_event(code, str(exc)))))
