"""The embedded demo agent server: `create_app`, `DemoServer` (background thread), `serve`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from . import routes_conversations, routes_events, routes_server, routes_workspace, seeding, session_socket, sockets
from .agent import Engine, Knobs
from .defaults import DEFAULT_SLOW_SECONDS, DEFAULT_TOKEN_RATE, PROTOCOL_DEFAULT, PROTOCOLS
from .state import DemoState, Dormant, Unhandled, dormant_response, unhandled_response
from .store import Store
from .wire import LEGACY_VERSION, SERVER_VERSION


def create_app(
    *,
    session_keys: list[str] | None = None,
    deferred_init: bool = False,
    init_key: str | None = None,
    persist_dir: str | Path | None = None,
    demo_seed: bool = False,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    token_rate: float = DEFAULT_TOKEN_RATE,
    llm_seconds: float = 0.05,
    tool_seconds: float = 0.3,
    title_seconds: float = 0.2,
    error_seconds: float | None = None,
    seed_conversations: int = 0,
    seed_history: int = 0,
    auth_timeout: float = 10.0,
    protocol: str = PROTOCOL_DEFAULT,
    max_runs: int = 10,
    max_frame_bytes: int = 4 * 1024 * 1024,
    max_pending_bytes: int = 16 * 1024 * 1024,
) -> FastAPI:
    """A FastAPI app speaking the agent-server protocol with a scripted agent (no LLM, runs nothing).

    ``protocol`` is ``"1.58"`` (the current server, the default) or ``"1.43"`` (the older behaviour the
    1.43.1 recordings show: no session socket, no run limit, the old status codes)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    store = Store(persist_dir, legacy=protocol == "1.43")
    knobs = Knobs(
        slow_seconds=slow_seconds,
        token_rate=token_rate,
        llm_seconds=llm_seconds,
        tool_seconds=tool_seconds,
        title_seconds=title_seconds,
        error_seconds=error_seconds,
        legacy=protocol == "1.43",
        max_runs=max_runs,
    )
    engine = Engine(store, knobs)
    st = DemoState(
        store=store,
        engine=engine,
        session_keys=list(session_keys or []),
        deferred_init=deferred_init,
        init_key=init_key,
        init_state="dormant" if deferred_init else "ready",
        auth_timeout=auth_timeout,
        max_frame_bytes=max_frame_bytes,
        max_pending_bytes=max_pending_bytes,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loaded = store.load()
        if not loaded:
            seeding.seed_conversations(store, seed_conversations, seed_history)
            if demo_seed:
                await seeding.demo_seed(store, engine)
        try:
            yield
        finally:
            store.closing = True  # a run cut short by shutdown stays "running" on disk → error on reload
            engine.shutdown()
            await asyncio.sleep(0)
            store.close()

    version = LEGACY_VERSION if protocol == "1.43" else SERVER_VERSION
    app = FastAPI(title="OpenHands Agent Server (demo)", version=version, lifespan=lifespan)
    app.state.demo = st
    app.add_exception_handler(Unhandled, unhandled_response)
    app.add_exception_handler(Dormant, dormant_response)
    app.include_router(routes_server.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_events.router)
    app.include_router(routes_workspace.router)
    app.include_router(sockets.router)
    app.include_router(session_socket.router)
    return app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _uvicorn_server(app: FastAPI, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="on",
        ws="websockets-sansio",
        timeout_graceful_shutdown=1,
        ws_ping_interval=None,
    )
    return uvicorn.Server(config)


class DemoServer:
    """Runs :func:`create_app` under uvicorn in a background thread.

    ``with DemoServer(slow_seconds=1) as srv: httpx.get(srv.base_url + "/health")``
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        session_keys: list[str] | None = None,
        deferred_init: bool = False,
        init_key: str | None = None,
        persist_dir: str | Path | None = None,
        demo_seed: bool = False,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        token_rate: float = DEFAULT_TOKEN_RATE,
        seed_conversations: int = 0,
        seed_history: int = 0,
        auth_timeout: float = 10.0,
        log_level: str = "warning",
        **knobs: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.log_level = log_level
        self.app = create_app(
            session_keys=session_keys,
            deferred_init=deferred_init,
            init_key=init_key,
            persist_dir=persist_dir,
            demo_seed=demo_seed,
            slow_seconds=slow_seconds,
            token_rate=token_rate,
            seed_conversations=seed_conversations,
            seed_history=seed_history,
            auth_timeout=auth_timeout,
            **knobs,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url[4:]

    @property
    def state(self) -> DemoState:
        return self.app.state.demo

    def start(self, timeout: float = 15.0) -> DemoServer:
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = _uvicorn_server(self.app, self.log_level)
        server = self._server
        self._thread = threading.Thread(target=lambda: server.run(sockets=[sock]), name="demo-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("demo server failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning", **knobs: Any) -> None:
    """Run in the foreground until interrupted; prints ``listening on http://HOST:PORT`` when ready."""
    app = create_app(**knobs)
    sock = _bind(host, port)
    actual = sock.getsockname()[1]
    server = _uvicorn_server(app, log_level)

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            shown = f"[{host}]" if ":" in host else host
            print(f"listening on http://{shown}:{actual}", flush=True)
        await task

    asyncio.run(main())
