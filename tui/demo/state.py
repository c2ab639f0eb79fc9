"""Server-wide state shared by the routes, the `/api/*` guard, and the error shapes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .agent import Engine
from .store import Store


@dataclass
class DemoState:
    store: Store
    engine: Engine
    session_keys: list[str] = field(default_factory=list)
    deferred_init: bool = False
    init_key: str | None = None
    init_state: str = "ready"  # "dormant" until POST /api/init on a deferred server
    auth_timeout: float = 10.0
    max_frame_bytes: int = 4 * 1024 * 1024  # session socket: one frame over this closes it (1013 frame_too_large)
    max_pending_bytes: int = 16 * 1024 * 1024  # session socket: more queued closes it (1013 slow_consumer)
    started: float = field(default_factory=time.time)
    last_activity: float = field(default_factory=time.time)

    @property
    def dormant(self) -> bool:
        return self.init_state != "ready"

    @property
    def legacy(self) -> bool:
        """Imitating 1.43.1 (``--protocol 1.43``) rather than 1.58.2."""
        return self.engine.knobs.legacy


def demo_state(request: Request) -> DemoState:
    return request.app.state.demo


class Unhandled(Exception):
    """An error the real server does not map: 500 with the global handler's body."""

    def __init__(self, exception_text: str) -> None:
        super().__init__(exception_text)
        self.exception_text = exception_text


class Dormant(Exception):
    pass


def api_guard(request: Request) -> None:
    """Every `/api/*` route: session key first (401), then deferred-init state (503)."""
    st: DemoState = request.app.state.demo
    if st.session_keys and request.headers.get("X-Session-API-Key") not in st.session_keys:
        raise HTTPException(status_code=401, detail="Unauthorized")
    if st.dormant:
        raise Dormant()
    st.last_activity = time.time()


def unhandled_response(_request: Request, exc: Exception) -> JSONResponse:
    text = exc.exception_text if isinstance(exc, Unhandled) else str(exc)
    # The real server's unhandled 500 also drops the keep-alive connection.
    return JSONResponse(
        status_code=500,
        headers={"Connection": "close"},
        content={"detail": "Internal Server Error", "exception": text, "error_id": uuid.uuid4().hex},
    )


def dormant_response(request: Request, _exc: Exception) -> JSONResponse:
    st: DemoState = request.app.state.demo
    return JSONResponse(
        status_code=503,
        content={
            "detail": "Internal Server Error",
            "exception": f"503: server is in deferred-init state '{st.init_state}'; call POST /api/init first",
        },
    )


def run_limit_response(detail: str | None = None) -> JSONResponse:
    """1.58 at its run limit: 429 (no Retry-After)."""
    return JSONResponse(
        status_code=429, content={"detail": detail or "Conversation run limit reached. Retry the request later."}
    )


def too_large_limit(limit: int) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "less_than_equal",
                "loc": ("query", "limit"),
                "msg": "Input should be less than or equal to 100",
                "input": str(limit),
                "ctx": {"le": 100},
            }
        ]
    )


def query_too_long(name: str, values: list[str], most: int) -> RequestValidationError:
    return RequestValidationError(
        [
            {
                "type": "too_long",
                "loc": ("query", name),
                "msg": f"List should have at most {most} items after validation, not {len(values)}",
                "input": values,
                "ctx": {"field_type": "List", "max_length": most, "actual_length": len(values)},
            }
        ]
    )


def not_found(detail: str = "Not Found") -> HTTPException:
    return HTTPException(status_code=404, detail=detail)


def bad_request() -> HTTPException:
    return HTTPException(status_code=400, detail="Bad Request")
