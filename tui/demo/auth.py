"""WebSocket authentication shared by both sockets: deprecated query/header key, or a first ``auth`` frame."""

from __future__ import annotations

import asyncio
import json

from fastapi import WebSocket, WebSocketDisconnect

from .state import DemoState

AUTH_FAILED = (4001, "Authentication failed")
NOT_FOUND = (4004, "Conversation not found")


def is_auth_frame(data: object) -> bool:
    return isinstance(data, dict) and data.get("type") == "auth" and set(data) <= {"type", "session_api_key"}


async def authenticate(ws: WebSocket, st: DemoState, session_api_key: str | None) -> bool:
    """True once authenticated (the socket is then accepted); False after closing/rejecting it."""
    if not st.session_keys:
        await ws.accept()
        return True
    legacy = session_api_key or ws.headers.get("x-session-api-key")
    if not st.legacy and session_api_key == "":
        legacy = ""  # 1.58 refuses an empty key instead of waiting for an auth frame
    if legacy is not None:
        if legacy not in st.session_keys:
            await ws.close(code=AUTH_FAILED[0])  # before accept: the upgrade is rejected with HTTP 403
            return False
        await ws.accept()
        return True
    await ws.accept()
    try:
        raw = await asyncio.wait_for(ws.receive_text(), timeout=st.auth_timeout)
        data = json.loads(raw)
    except (TimeoutError, ValueError, KeyError, RuntimeError):
        data = None
    except WebSocketDisconnect:
        return False
    if not (is_auth_frame(data) and data.get("session_api_key") in st.session_keys):
        await ws.close(*AUTH_FAILED)
        return False
    return True
