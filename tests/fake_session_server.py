"""A small agent server of the tests' own that speaks the 1.58 session socket, for what the embedded server does not
do yet: it replays stored events by `seq` (recorded events, `tests/data/turns/`), sends the live frames a test
scripts (recorded ones, played in order), and misbehaves on demand (`slow_consumer`, `frame_too_large`, a full
server's 429s). Drops are the proxy's job (`tests/proxy.py`). REST answers come from the same log, so `seq` is the
position in the ascending REST search, as on the real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

DATA = Path(__file__).parent / "data" / "turns"
SAVED_BUT_FULL = (
    "Message saved, but the conversation run limit was reached. Retry POST /api/conversations/{cid}/run without "
    "resending the message."
)
FULL = "Conversation run limit reached. Retry the request later."


def recorded(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines() if line.strip()]


@dataclass
class Plan:
    """Faults for the next connections."""

    oversized: set[str] = field(default_factory=set)  # event ids too large for a frame (every time)
    slow_after: int | None = None  # the next connection is closed 1013 slow_consumer after this many frames


class FakeSessionServer:
    def __init__(self, events: list[dict[str, Any]], *, version: str = "1.58.2", key: str | None = None) -> None:
        self.log: list[dict[str, Any]] = list(events)
        self.version = version
        self.key = key
        self.cid = str(uuid.uuid4())
        self.status = next(
            (
                e["value"]
                for e in reversed(self.log)
                if e.get("kind") == "ConversationStateUpdateEvent" and e.get("key") == "execution_status"
            ),
            "idle",
        )
        self.full = False  # answer 429 as a server at its run limit
        self.plan = Plan()
        self.paths: list[str] = []  # socket requests (path and query)
        self.first_frames: list[Any] = []
        self.posts: list[tuple[str, Any]] = []  # (route tail, body) of every POST
        self._sockets: set[WebSocket] = set()
        self._uvicorn: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_recording(cls, name: str, upto: int | None = None, **kwargs: Any) -> FakeSessionServer:
        """The stored events of a recorded session socket in seq order (those with seq ≤ `upto`)."""
        by_seq = {f["seq"]: f["event"] for f in recorded(name) if f["type"] == "durable"}
        assert sorted(by_seq) == list(range(len(by_seq))), "a recording with every seq from 0"
        return cls([by_seq[s] for s in sorted(by_seq) if upto is None or s <= upto], **kwargs)

    async def __aenter__(self) -> FakeSessionServer:
        base = f"/api/conversations/{self.cid}"
        app = Starlette(
            routes=[
                Route("/server_info", self._server_info),
                Route(base, self._info),
                Route(base + "/events/count", self._count),
                Route(base + "/events/search", self._search),
                Route(base + "/events", self._post_message, methods=["POST"]),
                Route(base + "/run", self._run, methods=["POST"]),
                Route(base + "/events/respond_to_confirmation", self._confirm, methods=["POST"]),
                WebSocketRoute("/sockets/session/{cid}", self._socket),
                WebSocketRoute("/sockets/events/{cid}", self._events_socket),
            ]
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, lifespan="off", log_level="warning", ws_ping_interval=None)
        self._uvicorn = uvicorn.Server(config)
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started:
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._uvicorn is not None and self._task is not None
        self._uvicorn.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, 5)

    # ------------------------------------------------------------------ what a test drives

    def snapshot_frame(self) -> dict[str, Any]:
        last_user = next(
            (e["id"] for e in reversed(self.log) if e.get("kind") == "MessageEvent" and e.get("source") == "user"),
            None,
        )
        value = {"id": self.cid, "execution_status": self.status, "last_user_message_id": last_user}
        return {
            "type": "transient",
            "event": {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-11-26T02:00:00",
                "source": "environment",
                "key": "full_state",
                "value": value,
                "kind": "ConversationStateUpdateEvent",
            },
        }

    async def store(self, event: dict[str, Any]) -> int:
        """Append a stored event and send it to every live socket; its seq."""
        self.log.append(event)
        seq = len(self.log) - 1
        if event.get("kind") == "ConversationStateUpdateEvent" and event.get("key") == "execution_status":
            self.status = event["value"]
        await self.broadcast({"type": "durable", "seq": seq, "event": event})
        return seq

    async def broadcast(self, frame: dict[str, Any]) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await self._send(ws, frame)

    async def play(self, frames: list[dict[str, Any]]) -> None:
        """Recorded live frames, in order: durable ones are stored (same seq as recorded), the others sent."""
        for frame in frames:
            if frame["type"] == "durable":
                assert frame["seq"] == len(self.log), (frame["seq"], len(self.log))
                await self.store(frame["event"])
            elif frame["type"] == "transient":
                value = frame["event"].get("value") or {}
                self.status = value.get("execution_status", self.status)
                await self.broadcast(frame)
            elif frame["type"] != "sync":
                await self.broadcast(frame)
            await asyncio.sleep(0)

    async def _send(self, ws: WebSocket, frame: dict[str, Any]) -> None:
        if frame.get("type") == "durable" and frame["event"].get("id") in self.plan.oversized:
            self._sockets.discard(ws)
            await ws.close(1013, "frame_too_large")
            raise WebSocketDisconnect(1013)
        await ws.send_text(json.dumps(frame))

    # ------------------------------------------------------------------ REST

    async def _server_info(self, request: Request) -> JSONResponse:
        return JSONResponse({"version": self.version, "title": "fake"})

    async def _info(self, request: Request) -> JSONResponse:
        return JSONResponse({"id": self.cid, "execution_status": self.status, "title": "fake"})

    async def _count(self, request: Request) -> JSONResponse:
        return JSONResponse(len(self.log))

    async def _search(self, request: Request) -> JSONResponse:
        query = request.query_params
        items = list(self.log)
        if "timestamp__gte" in query:
            items = [e for e in items if e.get("timestamp", "") >= query["timestamp__gte"]]
        if query.get("sort_order") == "TIMESTAMP_DESC":
            items.reverse()
        start, limit = int(query.get("page_id") or 0), int(query.get("limit") or 100)
        more = start + limit < len(items)
        return JSONResponse(
            {"items": items[start : start + limit], "next_page_id": str(start + limit) if more else None}
        )

    async def _post_message(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.posts.append(("events", body))
        text = body["content"][0]["text"]
        await self.store(
            {
                "id": str(uuid.uuid4()),
                "timestamp": "2026-11-26T03:00:00",
                "source": "user",
                "llm_message": {"role": "user", "content": [{"type": "text", "text": text}]},
                "kind": "MessageEvent",
            }
        )
        if self.full and body.get("run", True):
            return JSONResponse({"detail": SAVED_BUT_FULL.format(cid=self.cid)}, status_code=429)
        return JSONResponse({"success": True})

    async def _run(self, request: Request) -> JSONResponse:
        self.posts.append(("run", None))
        if self.full:
            return JSONResponse({"detail": FULL}, status_code=429)
        return JSONResponse({"success": True})

    async def _confirm(self, request: Request) -> JSONResponse:
        self.posts.append(("respond_to_confirmation", await request.json()))
        if self.full:
            return JSONResponse({"detail": FULL}, status_code=429)
        return JSONResponse({"success": True})

    # ------------------------------------------------------------------ the socket

    async def _events_socket(self, ws: WebSocket) -> None:
        """Only noted: which socket a client picked. Refused as an unknown conversation."""
        self.paths.append(ws.url.path)
        await ws.accept()
        await ws.close(4004, "Conversation not found")

    async def _socket(self, ws: WebSocket) -> None:
        query = ws.query_params
        self.paths.append(ws.url.path + (f"?{ws.url.query}" if ws.url.query else ""))
        await ws.accept()
        if self.key is not None:  # a server without keys does not wait for an auth frame
            try:
                first = json.loads(await ws.receive_text())
            except WebSocketDisconnect:
                return
            self.first_frames.append(first)
            if first.get("session_api_key") != self.key:
                await ws.close(4001, "Authentication failed")
                return
        after = int(query["after_seq"]) if "after_seq" in query else None
        slow_after, self.plan.slow_after = self.plan.slow_after, None
        sent = 0

        async def send(frame: dict[str, Any]) -> None:
            nonlocal sent
            if slow_after is not None and sent >= slow_after:
                await ws.close(1013, "slow_consumer")
                raise WebSocketDisconnect(1013)
            await self._send(ws, frame)
            sent += 1

        try:
            through = len(self.log) - 1
            sync: dict[str, Any] = {"type": "sync"}
            if after is not None:
                sync["from_seq"] = after
            if through >= 0:
                sync["through_seq"] = through
            await send(sync)
            if after is not None:
                for seq in range(max(after + 1, 0), through + 1):
                    await send({"type": "durable", "seq": seq, "event": self.log[seq]})
            await send(self.snapshot_frame())
            # Stored while this socket replayed: sent now, then live (no await between the last check and the add).
            following = through + 1
            while following < len(self.log):
                await send({"type": "durable", "seq": following, "event": self.log[following]})
                following += 1
            self._sockets.add(ws)
            while True:
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self._sockets.discard(ws)
