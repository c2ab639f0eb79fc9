"""`/api/conversations/{id}/events`: send, search, count, get one, respond_to_confirmation."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from . import wire
from .agent import RunLimitReached
from .models import ConfirmationResponseRequest, SendMessageRequest
from .state import DemoState, Unhandled, api_guard, demo_state, run_limit_response, too_large_limit
from .store import Conversation, EventFilter, count_events, search_events

router = APIRouter(prefix="/api/conversations/{conversation_id}/events", dependencies=[Depends(api_guard)])
SUCCESS = {"success": True}


def conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)) -> Conversation:
    conv = st.store.get(conversation_id)
    if conv is None:
        raise HTTPException(status_code=404, detail=f"Conversation not found: {conversation_id}")
    return conv


def _local_naive(value: datetime | None) -> str | None:
    """tz-aware inputs are converted to server-local naive time; naive ones are taken as local."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone().replace(tzinfo=None)
    return value.isoformat()


def _filter(
    kind: str | None,
    source: str | None,
    body: str | None,
    timestamp__gte: datetime | None,
    timestamp__lt: datetime | None,
    legacy: bool,
) -> EventFilter:
    if kind is not None and not legacy:
        kind = wire.KIND_PATHS.get(kind, kind)  # 1.58 also accepts the short class name
    return EventFilter(
        kind=kind, source=source, body=body, ts_gte=_local_naive(timestamp__gte), ts_lt=_local_naive(timestamp__lt)
    )


@router.post("")
async def send_message(
    body: SendMessageRequest, conv: Conversation = Depends(conversation), st: DemoState = Depends(demo_state)
):
    if body.role != "user":
        raise Unhandled("Only user messages are allowed to be sent to the agent.")
    try:
        await st.engine.send_message(conv, body.text(), run=body.run)
    except RunLimitReached:
        return run_limit_response(RunLimitReached.message_saved(conv))  # the message is stored
    return SUCCESS


@router.get("/search")
async def search(
    page_id: str | None = None,
    limit: int = Query(100, gt=0),
    kind: str | None = None,
    source: str | None = None,
    body: str | None = None,
    sort_order: Literal["TIMESTAMP", "TIMESTAMP_DESC"] = "TIMESTAMP",
    timestamp__gte: datetime | None = None,
    timestamp__lt: datetime | None = None,
    conv: Conversation = Depends(conversation),
    st: DemoState = Depends(demo_state),
):
    if limit > 100:
        if not st.legacy:
            raise too_large_limit(limit)
        raise Unhandled("")
    flt = _filter(kind, source, body, timestamp__gte, timestamp__lt, st.legacy)
    items, next_page_id = search_events(conv.log, flt, page_id, limit, sort_order == "TIMESTAMP_DESC")
    return {"items": [wire.event_for_wire(ev) for ev in items], "next_page_id": next_page_id}


@router.get("/count")
async def count(
    kind: str | None = None,
    source: str | None = None,
    body: str | None = None,
    timestamp__gte: datetime | None = None,
    timestamp__lt: datetime | None = None,
    conv: Conversation = Depends(conversation),
    st: DemoState = Depends(demo_state),
) -> int:
    return count_events(conv.log, _filter(kind, source, body, timestamp__gte, timestamp__lt, st.legacy))


@router.post("/respond_to_confirmation")
async def respond_to_confirmation(
    body: ConfirmationResponseRequest, conv: Conversation = Depends(conversation), st: DemoState = Depends(demo_state)
):
    try:
        await st.engine.respond_to_confirmation(conv, body.accept, body.reason)
    except RunLimitReached:
        return run_limit_response()  # the action stays pending
    return SUCCESS


@router.get("/{event_id}")
async def get_event(event_id: str, conv: Conversation = Depends(conversation), st: DemoState = Depends(demo_state)):
    pos = conv.log.position(event_id)
    if pos is None and not st.legacy:
        raise HTTPException(status_code=404, detail="Not Found")
    if pos is None:
        raise Unhandled(repr(f"Unknown event_id: {event_id}"))  # a KeyError the real server leaves unmapped
    return conv.log.get(pos)
