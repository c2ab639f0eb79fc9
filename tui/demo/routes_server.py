"""Unauthenticated server routes and the deferred-init `/api/init` endpoint."""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from . import wire
from .models import InitRequest
from .state import DemoState, demo_state

router = APIRouter()

NOT_DEFERRED = "server is not running with deferred_init=True; the /api/init endpoint is not available"


@router.get("/alive")
@router.get("/health")
async def health():
    return {"status": "ok"}


@router.get("/ready")
async def ready():
    return {"status": "ready"}


@router.get("/server_info")
@router.get("/")
async def server_info(st: DemoState = Depends(demo_state)):
    now = time.time()
    return wire.server_info(now - st.started, now - st.last_activity, legacy=st.legacy)


@router.get("/api/init")
async def init_status(st: DemoState = Depends(demo_state)):
    if not st.deferred_init:
        return JSONResponse(status_code=404, content={"detail": NOT_DEFERRED})
    return {"state": st.init_state, "error": None}


@router.post("/api/init")
async def init(request: Request, st: DemoState = Depends(demo_state)):
    if not st.deferred_init:
        return JSONResponse(status_code=404, content={"detail": NOT_DEFERRED})
    # The key check runs before the state check and before body validation.
    if st.init_key and request.headers.get("X-Init-API-Key") != st.init_key:
        return JSONResponse(status_code=401, content={"detail": "Unauthorized"})
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
        body = InitRequest.model_validate(data)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", 0),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": str(exc)},
                }
            ]
        ) from None
    if st.init_state != "dormant":
        return JSONResponse(status_code=400, content={"detail": f"server already in state: {st.init_state}"})
    if body.session_api_keys is not None:
        st.session_keys = list(body.session_api_keys)
    if body.secret_key:
        st.init_key = body.secret_key
    elif not st.init_key and st.session_keys:
        st.init_key = st.session_keys[0]
    st.init_state = "ready"
    return {"state": "ready", "error": None}
