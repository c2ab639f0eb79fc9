"""Every headless verb against a hostile agent server of the test's own (FastAPI on loopback): escape sequences in
every field it sends (ids, titles, statuses, kinds, sources, timestamps, message text, error details, socket
frames) never reach the terminal, whatever verb prints them, on standard output or standard error; a year-1
timestamp and an event nested 300 levels deep are shown, not fatal; one slow server does not hang `list`."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, StreamingResponse

from tests.test_cli import cli

pytestmark = pytest.mark.timeout(120)

# OSC 52 (clipboard), OSC 0 (window title), OSC 8 (hyperlink), CSI, and their 8-bit C1 forms, BEL, DCS.
EVIL = (
    "E1\x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b]0;pwned-title\x07 \x1b]8;;http://evil.example/\x07link\x1b]8;;\x07 "
    "\x1b[2J\x1b[31mred\x1b[0m \x9b31m \x9d0;c1\x9c \x1bP1$qm\x1b\\ \x07\x08\x7f\x85 E2"
)
ECHOED_KEY = "echoed-session-key-4242"
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

IDLE = "abcd1111-0000-4000-8000-000000000001"  # idle: sends fail with an evil error
BUSY = "abcd2222-0000-4000-8000-000000000002"  # running, with an evil title: control verbs fail with evil text
ODD = "abcd3333-0000-4000-8000-00000000000" + "3"  # an unknown, evil status
REPLY = "abcd4444-0000-4000-8000-000000000004"  # idle: a send is answered with an evil reply over the socket


def _deep(levels: int) -> dict:
    value: dict = {"leaf": EVIL}
    for _ in range(levels):
        value = {"a": value}
    return value


def _info(cid: str, status: str) -> dict:
    return {
        "id": cid,
        "title": EVIL,
        "execution_status": status,
        "created_at": EVIL,
        "updated_at": "2026-01-01T00:00:00",
        "agent": {"llm": {"model": EVIL + " " + ECHOED_KEY}},  # a server echoing the session key back
        "stats": {"usage_to_metrics": {"agent": {"accumulated_cost": 0.5}}},
    }


def _events(cid: str) -> list[dict]:
    msg = {"role": "user", "content": [{"type": "text", "text": "hello " + EVIL}]}
    return [
        {
            "kind": "MessageEvent",
            "id": f"{cid}-m1",
            "timestamp": "2026-01-01T00:00:01",
            "source": "user",
            "llm_message": msg,
        },
        {
            "kind": "Evil\x1b]0;kind\x07Kind",
            "id": f"{cid}-u1",
            "timestamp": "0001-01-01T00:00:00",
            "source": EVIL,
            "detail": EVIL,
        },
        {
            "kind": "ObservationEvent",
            "id": f"{cid}-deep",
            "timestamp": "2026-01-01T00:00:02",
            "source": "environment",
            "tool_name": EVIL,
            "tool_call_id": "t",
            "action_id": "a",
            "observation": _deep(300),
        },
        {
            "kind": "MessageEvent",
            "id": f"{cid}-m2",
            "timestamp": EVIL,
            "source": "agent",
            "llm_message": {"role": "assistant", "content": [{"type": "text", "text": "after the deep one " + EVIL}]},
        },
    ]


def _evil_error(status: int = 500) -> JSONResponse:
    return JSONResponse({"detail": EVIL, "exception": EVIL}, status_code=status)


def hostile_app() -> FastAPI:
    app = FastAPI()
    statuses = {IDLE: "idle", BUSY: "running", ODD: "\x1b]0;x\x07weird" + EVIL, REPLY: "idle"}
    sockets: dict[str, list[WebSocket]] = {}

    @app.get("/api/conversations/search")
    async def search():
        return {"items": [_info(cid, status) for cid, status in statuses.items()], "next_page_id": None}

    @app.get("/api/conversations/{cid}")
    async def get_one(cid: str):
        if cid not in statuses:
            return _evil_error(404)
        return _info(cid, statuses[cid])

    @app.get("/api/conversations/{cid}/events/search")
    async def events(cid: str, request: Request):
        items = _events(cid)
        if request.query_params.get("body"):
            items = [e for e in items if e["kind"] == "MessageEvent"]
        if request.query_params.get("sort_order") == "TIMESTAMP_DESC":
            items = items[::-1]
        return {"items": items[: int(request.query_params.get("limit", 100))], "next_page_id": None}

    @app.get("/api/conversations/{cid}/events/count")
    async def count(cid: str):
        return len(_events(cid))

    @app.get("/api/conversations/{cid}/events/{event_id}")
    async def one_event(cid: str, event_id: str):
        return next((e for e in _events(cid) if e["id"] == event_id), None) or _evil_error(404)

    @app.post("/api/conversations/{cid}/events")
    async def send(cid: str):
        if cid != REPLY:
            return _evil_error()
        for ws in sockets.get(cid, []):
            await ws.send_text(json.dumps(_state("running")))
            await ws.send_text(
                json.dumps(
                    {
                        "kind": "MessageEvent",
                        "id": "reply-1",
                        "timestamp": "2026-01-01T00:01:00",
                        "source": "agent",
                        "llm_message": {"role": "assistant", "content": [{"type": "text", "text": "reply " + EVIL}]},
                    }
                )
            )
            await ws.send_text(json.dumps(_state("finished", snapshot=True)))
        return {"success": True}

    @app.post("/api/conversations")
    @app.post("/api/init")
    @app.patch("/api/conversations/{cid}")
    @app.delete("/api/conversations/{cid}")
    @app.post("/api/conversations/{cid}/{action}")
    @app.post("/api/conversations/{cid}/events/respond_to_confirmation")
    async def refuse():
        return _evil_error()

    @app.websocket("/sockets/events/{cid}")
    async def events_socket(websocket: WebSocket, cid: str):
        await websocket.accept()
        sockets.setdefault(cid, []).append(websocket)
        await websocket.send_text(json.dumps(_state(statuses.get(cid, "idle"), snapshot=True)))
        await websocket.send_text(json.dumps({"kind": "ServerErrorEvent", "id": "", "code": EVIL, "detail": EVIL}))
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            sockets[cid].remove(websocket)

    return app


def _state(status: str, snapshot: bool = False) -> dict:
    if snapshot:
        return {
            "kind": "ConversationStateUpdateEvent",
            "id": f"s-{time.monotonic()}",
            "key": "full_state",
            "value": {"execution_status": status},
            "timestamp": "2026-01-01T00:00:03",
            "source": "environment",
        }
    return {
        "kind": "ConversationStateUpdateEvent",
        "id": f"f-{time.monotonic()}",
        "key": "execution_status",
        "value": status,
        "timestamp": "2026-01-01T00:00:03",
        "source": "environment",
    }


class Served:
    """A FastAPI app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
        self.thread = threading.Thread(target=lambda: self.server.run(sockets=[sock]), daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the hostile server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def hostile():
    with Served(hostile_app()) as srv:
        yield srv


def assert_safe(out, what: str) -> None:
    for name, text in (("stdout", out.stdout), ("stderr", out.stderr)):
        assert "Traceback" not in text, f"{what}: a traceback on {name}:\n{text}"
        bad = FORBIDDEN.findall(text.replace("\n", "").replace("\t", ""))
        assert not bad, f"{what}: control characters reach the terminal on {name}: {sorted(set(bad))!r}"


def test_no_escape_sequence_reaches_the_terminal_from_any_verb(hostile):
    s = ("--server", hostile.base_url)
    runs = {
        "list": cli(*s, "list"),
        "list --json": cli(*s, "list", "--json"),
        "search": cli(*s, "search", "hello"),
        "search --json": cli(*s, "search", "hello", "--json"),
        "watch": cli(*s, "watch", IDLE, "--until-done", "--timeout", "20"),
        "watch --json": cli(*s, "watch", IDLE, "--json", "--until-done", "--timeout", "20"),
        "watch --tail": cli(*s, "watch", IDLE, "--tail", "2", "--until-done", "--timeout", "20"),
        "watch two": cli(*s, "watch", IDLE, REPLY, "--json", "--until-done", "--timeout", "20"),
        "export md": cli(*s, "export", IDLE),
        "export json": cli(*s, "export", IDLE, "--format", "json"),
        "send (refused)": cli(*s, "send", IDLE, "hi", "--timeout", "20"),
        "send --wait (evil reply)": cli(*s, "send", REPLY, "hi", "--wait", "--timeout", "20"),
        "send --wait --json": cli(*s, "send", REPLY, "hi", "--wait", "--json", "--timeout", "20"),
        "new (refused)": cli(*s, "new", "--model", "m", "--workdir", "/w"),
        "interrupt (refused)": cli(*s, "interrupt", BUSY),
        "pause (refused)": cli(*s, "pause", BUSY),
        "approve (unknown status)": cli(*s, "approve", ODD),
        "resume (nothing to do)": cli(*s, "resume", BUSY),
        "rename (refused)": cli(*s, "rename", IDLE, "t"),
        "delete (refused)": cli(*s, "delete", IDLE),
        "init (refused)": cli(*s, "init", "--init-key-env", "IK", env={"IK": "k"}),
        "unknown id": cli(*s, "send", "abcd9999-0000-4000-8000-000000000009", "hi"),
    }
    for what, out in runs.items():
        assert_safe(out, what)
    # The text is still there, made safe: a person sees what the server said.
    assert "E1" in runs["list"].stdout and "E2" in runs["list"].stdout
    assert "E1" in runs["send (refused)"].stderr and runs["send (refused)"].returncode != 0
    assert "E1" in runs["interrupt (refused)"].stderr and runs["interrupt (refused)"].returncode == 1
    assert "reply E1" in runs["send --wait (evil reply)"].stdout, runs["send --wait (evil reply)"].stderr
    assert runs["send --wait (evil reply)"].returncode == 0
    assert json.loads(runs["send --wait --json"].stdout)["reply"].startswith("reply E1")
    assert runs["resume (nothing to do)"].returncode == 6
    assert runs["approve (unknown status)"].returncode == 6
    # JSON keeps the data exactly (escapes are \u-escaped in the JSON text, decoded back by a parser).
    rows = json.loads(runs["list --json"].stdout)
    assert {r["title"] for r in rows} == {EVIL}


def test_watch_keeps_an_event_nested_300_deep_and_the_rest_of_its_batch(hostile):
    out = cli("--server", hostile.base_url, "watch", IDLE, "--json", "--until-done", "--timeout", "20")
    assert out.returncode == 0, out.stderr
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    ids = [e["id"] for e in printed]
    assert ids[:4] == [f"{IDLE}-m1", f"{IDLE}-u1", f"{IDLE}-deep", f"{IDLE}-m2"]
    deep = printed[2]["observation"]
    for _ in range(300):
        deep = deep["a"]
    assert deep == {"leaf": EVIL}
    # The year-1 timestamp and the evil one are data, shown as they came.
    assert printed[1]["timestamp"] == "0001-01-01T00:00:00"
    exported = json.loads(cli("--server", hostile.base_url, "export", IDLE, "--format", "json").stdout)
    assert [e["id"] for e in exported["events"]] == ids[:4]


def test_one_slow_server_does_not_hang_list(hostile):
    app = FastAPI()

    @app.get("/api/conversations/search")
    async def slow():
        async def drip():
            yield b'{"items": ['
            while True:  # headers at once, then a byte now and then: a read timeout never fires
                await asyncio.sleep(1)
                yield b" "

        return StreamingResponse(drip(), media_type="application/json")

    with Served(app) as slow_server:
        started = time.monotonic()
        out = cli("--server", slow_server.base_url, "--server", hostile.base_url, "list", "--timeout", "3")
        took = time.monotonic() - started
    assert took < 20, f"list took {took:.1f}s"
    assert out.returncode == 1
    assert "no answer within 3s" in out.stderr
    assert "E1" in out.stdout  # the other server's conversations are listed
    assert "total" in out.stdout


def test_send_timeout_covers_the_lookup_on_a_slow_server():
    app = FastAPI()

    @app.get("/api/conversations/search")
    async def slow():
        async def drip():
            yield b'{"items": ['
            while True:
                await asyncio.sleep(1)
                yield b" "

        return StreamingResponse(drip(), media_type="application/json")

    with Served(app) as slow_server:
        started = time.monotonic()
        out = cli("--server", slow_server.base_url, "send", "abcd", "hello", "--wait", "--timeout", "2")
        took = time.monotonic() - started
    assert out.returncode == 124, out.stderr
    assert took < 15, f"send took {took:.1f}s"
    assert "the message was not sent" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_year_one_timestamp_leaves_the_reconcile_window_open():
    from tui.headless.watch import RECONCILE_MARGIN, earlier

    assert earlier("0001-01-01T00:00:00", RECONCILE_MARGIN) is None  # the whole history, not a crash
    assert earlier("not a time", RECONCILE_MARGIN) is None
    assert earlier("2026-01-01T00:00:30", RECONCILE_MARGIN) == "2026-01-01T00:00:00"


def test_a_session_key_the_server_echoes_back_is_masked(hostile):
    env = {"K": ECHOED_KEY}
    s = ("--server", hostile.base_url, "--session-key-env", "K")
    for out in (cli(*s, "list", "--json", env=env), cli(*s, "export", IDLE, "--format", "json", env=env)):
        assert out.returncode == 0, out.stderr
        assert ECHOED_KEY not in out.stdout and "**********" in out.stdout
