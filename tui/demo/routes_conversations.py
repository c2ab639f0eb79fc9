"""`/api/conversations`: search, count, get, batch get, create, delete, PATCH, run/pause/interrupt."""

from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from fastapi import APIRouter, Body, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from . import wire
from .agent import ConflictError, RunLimitReached
from .models import StartConversationRequest, UpdateConversationRequest, UpdateConversationRequest158
from .state import (
    DemoState,
    Unhandled,
    api_guard,
    bad_request,
    demo_state,
    not_found,
    query_too_long,
    run_limit_response,
    too_large_limit,
)
from .store import STATUSES, Conversation

router = APIRouter(prefix="/api/conversations", dependencies=[Depends(api_guard)])

SortOrder = Literal["CREATED_AT", "UPDATED_AT", "CREATED_AT_DESC", "UPDATED_AT_DESC"]
Status = Literal["idle", "running", "paused", "waiting_for_confirmation", "finished", "error", "stuck", "deleting"]
SUCCESS = {"success": True}
assert set(STATUSES) <= set(Status.__args__)  # type: ignore[attr-defined]


def _sorted(st: DemoState, status: str | None, sort_order: str) -> list[Conversation]:
    convs = [c for c in st.store.conversations.values() if status is None or c.status == status]
    key = (lambda c: c.updated_at) if sort_order.startswith("UPDATED") else (lambda c: c.created_at)
    return sorted(convs, key=key, reverse=sort_order.endswith("_DESC"))


@router.get("/search")
async def search_conversations(
    page_id: str | None = None,
    limit: int = Query(100, gt=0),
    status: Status | None = None,
    sort_order: SortOrder = "CREATED_AT_DESC",
    include_skills: bool = False,
    st: DemoState = Depends(demo_state),
):
    if limit > 100:
        if not st.legacy:
            raise too_large_limit(limit)
        raise Unhandled("")  # the 1.43 handler does `assert limit <= 100`
    convs = _sorted(st, status, sort_order)
    start = 0
    if page_id:
        start = next((i for i, c in enumerate(convs) if c.id.hex == page_id), 0)
    page = convs[start : start + limit]
    nxt = convs[start + limit].id.hex if start + limit < len(convs) else None
    return {"items": [st.store.info(c) for c in page], "next_page_id": nxt}


@router.get("/count")
async def count_conversations(status: Status | None = None, st: DemoState = Depends(demo_state)) -> int:
    return sum(1 for c in st.store.conversations.values() if status is None or c.status == status)


@router.get("")
async def batch_get(
    ids: list[uuid.UUID] = Query(...), include_skills: bool = False, st: DemoState = Depends(demo_state)
):
    if len(ids) >= 100:
        if not st.legacy:
            raise query_too_long("ids", [str(i) for i in ids], 99)
        raise Unhandled("")
    return [st.store.info(c) if (c := st.store.get(i)) else None for i in ids]


@router.post("", status_code=201)
async def start_conversation(body: StartConversationRequest, st: DemoState = Depends(demo_state)):
    if body.conversation_id is not None and (existing := st.store.get(body.conversation_id)):
        return JSONResponse(status_code=200, content=st.store.info(existing))
    if not st.legacy:
        if body.conversation_runtime not in (None, "local"):
            return JSONResponse(status_code=422, content={"detail": "This server only runs local conversations"})
        try:
            st.engine.check_capacity()  # creating takes a run slot; nothing is stored on a 429
        except RunLimitReached:
            return run_limit_response()
    cid = body.conversation_id or uuid.uuid4()
    raw_agent = body.agent or {
        "llm": (body.agent_settings or {}).get("llm") or {},
        "tools": (body.agent_settings or {}).get("tools") or [],
    }
    workspace = {"working_dir": body.workspace.get("working_dir", ""), "kind": "LocalWorkspace"}
    conv = Conversation(
        id=cid,
        agent=wire.normalize_agent(raw_agent),
        workspace=workspace,
        persistence_dir=st.store.persistence_dir_for(cid),
        autotitle=body.autotitle,
        confirmation_policy=body.confirmation_policy or {"kind": "NeverConfirm"},
        security_analyzer=body.security_analyzer,
        max_iterations=body.max_iterations,
        stuck_detection=body.stuck_detection,
        tags=dict(body.tags),
    )
    st.store.add(conv)
    if body.initial_message is None:
        return _created(st, conv)
    # The real 201 of a create with initial_message shows "idle" even though the run already
    # started (and even finished), while its title is already filled in.
    try:
        await st.engine.send_message(conv, body.initial_message.text(), run=True)
    except RunLimitReached:
        pass  # the slot checked above went to another run meanwhile: the message waits for /run
    await asyncio.sleep(st.engine.knobs.title_seconds + 0.01)
    info = _created(st, conv)
    info["execution_status"] = "idle"
    return JSONResponse(status_code=201, content=info)


def _created(st: DemoState, conv: Conversation) -> dict:
    """The create response: 1.58 leaves ``runtime_info`` null there (it is filled by get/search/batch)."""
    info = st.store.info(conv)
    if "runtime_info" in info:
        info["runtime_info"] = None
    return info


def _known(conversation_id: uuid.UUID, st: DemoState) -> Conversation:
    """pause / interrupt / delete: an unknown id is 404 on 1.58, 400 on 1.43."""
    conv = st.store.get(conversation_id)
    if conv is None:
        raise bad_request() if st.legacy else not_found()
    return conv


def _conversation(conversation_id: uuid.UUID, st: DemoState) -> Conversation:
    conv = st.store.get(conversation_id)
    if conv is None:
        raise not_found()
    return conv


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: uuid.UUID, include_skills: bool = False, st: DemoState = Depends(demo_state)
):
    return st.store.info(_conversation(conversation_id, st))


@router.get("/{conversation_id}/agent_final_response")
async def agent_final_response(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    conv = _conversation(conversation_id, st)
    log = conv.log
    for pos in range(len(log) - 1, -1, -1):
        kind, source, _ts = log.kind_source_ts(pos)
        if kind == "ActionEvent":
            ev = log.get(pos)
            if ev.get("tool_name") == "finish":
                return {"response": (ev.get("action") or {}).get("message", "")}
        elif kind == "MessageEvent" and source == "agent":
            return {"response": log.body_text(pos)}
        elif kind == "MessageEvent" and source == "user":
            break
    return {"response": ""}


@router.delete("/{conversation_id}")
async def delete_conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    conv = _known(conversation_id, st)
    await st.engine.delete(conv)
    return SUCCESS


@router.patch("/{conversation_id}")
async def update_conversation(conversation_id: uuid.UUID, raw: dict = Body(...), st: DemoState = Depends(demo_state)):
    model = UpdateConversationRequest if st.legacy else UpdateConversationRequest158
    try:
        body = model.model_validate(raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
    conv = st.store.get(conversation_id)
    if conv is None:
        if not st.legacy:
            raise not_found()
        return {"success": False}
    if body.title is not None:
        conv.title = body.title.strip()
    if body.tags is not None:
        conv.tags = dict(body.tags)
        if not st.legacy:
            conv.emit(wire.state_update("tags", conv.tags, conv.leaf_event_id))
    conv.updated_at = wire.utc_now()
    conv.save_meta()
    return SUCCESS


@router.post("/{conversation_id}/run")
async def run_conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    conv = _conversation(conversation_id, st)
    try:
        st.engine.run(conv)
    except RunLimitReached:
        return run_limit_response()
    except ConflictError:
        return JSONResponse(
            status_code=409, content={"detail": "Conversation already running. Wait for completion or pause first."}
        )
    return SUCCESS


@router.post("/{conversation_id}/pause")
async def pause_conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    conv = _known(conversation_id, st)
    await st.engine.pause(conv)
    return SUCCESS


@router.post("/{conversation_id}/interrupt")
async def interrupt_conversation(conversation_id: uuid.UUID, st: DemoState = Depends(demo_state)):
    conv = _known(conversation_id, st)
    await st.engine.interrupt(conv)
    return SUCCESS
