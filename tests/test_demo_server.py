"""Behaviour of the embedded demo server over real loopback sockets (httpx + websockets)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.fixtures_demo import FAST_KNOBS, INIT_KEY, SESSION_KEY
from tui.demo import DemoServer
from tui.demo.scenarios import scenario_word

AGENT = {"llm": {"model": "demo/scripted", "api_key": "sk-test", "usage_id": "agent"}, "tools": [{"name": "terminal"}]}
REPO = Path(__file__).resolve().parent.parent


def create_body(stream: bool = False, **extra) -> dict:
    agent = {**AGENT, "llm": {**AGENT["llm"], "stream": stream}}
    return {"agent": agent, "workspace": {"working_dir": "/tmp/demo-ws"}, **extra}


def say(text: str, run: bool = True) -> dict:
    return {"role": "user", "content": [{"type": "text", "text": text}], "run": run}


async def wait_status(client: httpx.AsyncClient, cid: str, statuses: set[str], timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = (await client.get(f"/api/conversations/{cid}")).json()
        if info["execution_status"] in statuses:
            return info
        await asyncio.sleep(0.02)
    raise AssertionError(f"status never reached {statuses}")


async def frames_until(ws, predicate, timeout: float = 10) -> list[dict]:
    got: list[dict] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            got.append(frame)
            if predicate(frame):
                return got


def is_final_snapshot(frame: dict) -> bool:
    return frame.get("key") == "full_state" and frame["value"]["execution_status"] not in ("idle", "running")


# ---------------------------------------------------------------- auth and errors


async def test_session_key_required_on_api_but_not_health(demo_server_keyed):
    async with httpx.AsyncClient(base_url=demo_server_keyed.base_url) as c:
        assert (await c.get("/health")).json() == {"status": "ok"}
        r = await c.get("/api/conversations/search")
        assert (r.status_code, r.json()) == (401, {"detail": "Unauthorized"})
        r = await c.get("/api/conversations/search", headers={"X-Session-API-Key": SESSION_KEY})
        assert r.status_code == 200 and r.json() == {"items": [], "next_page_id": None}


async def test_websocket_auth_paths(demo_server_keyed):
    srv = demo_server_keyed
    async with httpx.AsyncClient(base_url=srv.base_url, headers={"X-Session-API-Key": SESSION_KEY}) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
    url = f"{srv.ws_url}/sockets/events/{cid}"
    with pytest.raises(websockets.InvalidStatus) as bad:
        await websockets.connect(url + "?session_api_key=nope")
    assert bad.value.response.status_code == 403
    async with websockets.connect(url + f"?session_api_key={SESSION_KEY}") as ws:
        assert json.loads(await ws.recv())["key"] == "full_state"
    async with websockets.connect(url) as ws:  # first frame not auth → 4001 at once
        await ws.send(json.dumps(say("hi")))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "Authentication failed")
    started = time.monotonic()
    async with websockets.connect(url) as ws:  # silence → 4001 after auth_timeout (1 s here)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4001
    assert 0.8 < time.monotonic() - started < 5
    async with websockets.connect(f"{srv.ws_url}/sockets/events/{'0' * 32}") as ws:
        await ws.send(json.dumps({"type": "auth", "session_api_key": SESSION_KEY}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4004, "Conversation not found")


async def test_dormant_server_then_init(dormant_server_143):  # 1.43.1 behaviour
    srv = dormant_server_143
    async with httpx.AsyncClient(base_url=srv.base_url) as c:
        assert (await c.get("/api/init")).json() == {"state": "dormant", "error": None}
        r = await c.get("/api/conversations/count")
        assert r.status_code == 503 and "deferred-init state 'dormant'" in r.json()["exception"]
        async with websockets.connect(f"{srv.ws_url}/sockets/events/{'1' * 32}") as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is None  # abnormal closure: 1006 for the client
        assert (await c.post("/api/init", json={}, headers={"X-Init-API-Key": "bad"})).status_code == 401
        r = await c.post("/api/init", json={"nope": 1}, headers={"X-Init-API-Key": INIT_KEY})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "extra_forbidden"
        r = await c.post("/api/init", json={"session_api_keys": ["k2"]}, headers={"X-Init-API-Key": INIT_KEY})
        assert r.json() == {"state": "ready", "error": None}
        assert (await c.get("/api/conversations/count")).status_code == 401
        assert (await c.get("/api/conversations/count", headers={"X-Session-API-Key": "k2"})).json() == 0


async def test_error_matrix(demo_server_143):  # 1.43.1 behaviour
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        unknown = "fb070654-b4cb-4c80-b62f-a27ab2dd1455"
        assert (await c.get(f"/api/conversations/{unknown}")).status_code == 404
        r = await c.get(f"/api/conversations/{unknown}/events/search")
        assert r.json() == {"detail": f"Conversation not found: {unknown}"}
        for verb in ("pause", "interrupt"):
            assert (await c.post(f"/api/conversations/{unknown}/{verb}")).json() == {"detail": "Bad Request"}
        assert (await c.patch(f"/api/conversations/{unknown}", json={"title": "x"})).json() == {"success": False}
        assert (await c.get("/api/conversations/search?limit=0")).status_code == 422
        r = await c.get("/api/conversations/search?limit=101")
        assert r.status_code == 500 and r.json()["exception"] == ""
        assert (await c.post("/api/conversations", json={"workspace": {"working_dir": "/x"}})).status_code == 422
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        r = await c.post(f"/api/conversations/{cid}/events", json={"role": "robot", "content": []})
        assert r.json()["detail"][0]["type"] == "literal_error"
        r = await c.get(f"/api/conversations/{cid}/events/nope")
        assert r.status_code == 500 and r.json()["exception"] == "'Unknown event_id: nope'"
        r = await c.get(f"/api/conversations?ids={cid}&ids={unknown}")
        assert [x and x["id"] for x in r.json()] == [cid, None]
        r = await c.post("/api/conversations", json=create_body(conversation_id=cid))
        assert r.status_code == 200 and r.json()["id"] == cid


# ---------------------------------------------------------------- turns


async def test_turn_order_streaming_title_and_masking(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]
        async with websockets.connect(f"{demo_server.ws_url}/sockets/events/{cid}") as ws:
            first = json.loads(await ws.recv())
            assert first["key"] == "full_state" and first["value"]["agent"]["llm"]["api_key"] == "**********"
            assert "title" not in first["value"]
            await c.post(f"/api/conversations/{cid}/events", json=say("markdown please"))
            frames = await frames_until(ws, is_final_snapshot)
        kinds = [f["kind"] for f in frames]
        assert kinds[:2] == ["SystemPromptEvent", "MessageEvent"]
        deltas = [f["content"] for f in frames if f["kind"] == "StreamingDeltaEvent"]
        assert deltas[0] == "" and len(deltas) > 50
        answer = next(f for f in frames if f["kind"] == "MessageEvent" and f["source"] == "agent")
        assert "".join(deltas) == answer["llm_message"]["content"][0]["text"]
        assert "# Demo report" in "".join(deltas)
        statuses = [f["value"] for f in frames if f.get("key") == "execution_status"]
        assert statuses == ["running", "finished"]
        info = (await c.get(f"/api/conversations/{cid}")).json()
        assert info["title"] and info["agent"]["llm"]["api_key"] is None
        assert info["stats"]["usage_to_metrics"]["agent"]["accumulated_token_usage"]["prompt_tokens"] > 0
        persisted = (await c.get(f"/api/conversations/{cid}/events/search")).json()["items"]
        assert "StreamingDeltaEvent" not in {e["kind"] for e in persisted}
        assert not any(e.get("key") == "full_state" for e in persisted)


async def test_stranded_message_and_noop_run(demo_server_143):  # 1.43.1 behaviour
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("[slow] first"))
        await wait_status(c, cid, {"running"})
        await c.post(f"/api/conversations/{cid}/events", json=say("[finish] mid-call"))
        assert (await c.post(f"/api/conversations/{cid}/run")).status_code == 409
        await wait_status(c, cid, {"finished"})
        assert (await c.post(f"/api/conversations/{cid}/run")).json() == {"success": True}
        await asyncio.sleep(0.2)
        r = await c.get(
            f"/api/conversations/{cid}/events/count",
            params={"kind": "openhands.sdk.event.llm_convertible.action.ActionEvent"},
        )
        assert r.json() == 0  # the [finish] message was never answered


async def test_confirmation_accept_and_reject(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        cid = (
            await c.post("/api/conversations", json=create_body(confirmation_policy={"kind": "AlwaysConfirm"}))
        ).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("[bash] go"))
        await wait_status(c, cid, {"waiting_for_confirmation"})
        await c.post(f"/api/conversations/{cid}/events/respond_to_confirmation", json={"accept": True})
        await wait_status(c, cid, {"finished"})
        await c.post(f"/api/conversations/{cid}/events", json=say("[bash] again"))
        await wait_status(c, cid, {"waiting_for_confirmation"})
        await c.post(f"/api/conversations/{cid}/events/respond_to_confirmation", json={"accept": False, "reason": "no"})
        assert (await c.get(f"/api/conversations/{cid}")).json()["execution_status"] == "idle"
        items = (
            await c.get(f"/api/conversations/{cid}/events/search", params={"sort_order": "TIMESTAMP_DESC", "limit": 1})
        ).json()["items"]
        assert items[0]["kind"] == "UserRejectObservation" and items[0]["rejection_reason"] == "no"


async def test_error_and_stuck_words(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("please error"))
        await wait_status(c, cid, {"error"})
        errs = (
            await c.get(
                f"/api/conversations/{cid}/events/search",
                params={"kind": "openhands.sdk.event.conversation_error.ConversationErrorEvent"},
            )
        ).json()["items"]
        assert [e["code"] for e in errs] == ["LLMServiceUnavailableError"] * 2
        assert errs[1]["parent_id"] == errs[0]["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("get stuck"))
        await wait_status(c, cid, {"stuck"})


def test_scenario_words():
    assert scenario_word("[bash] Run echo hello then finish.") == "bash"
    assert scenario_word("[text] message sent while tool was running") == "text"
    assert scenario_word("run the slow tool") == "slowbash"
    assert scenario_word("flood 500") == "flood"
    assert scenario_word("hello there") == "default"


# ---------------------------------------------------------------- pagination, seeding, flood


async def test_event_pagination_and_filters(demo_server_143):  # 1.43.1 behaviour
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("[bash] go"))
        await wait_status(c, cid, {"finished"})
        total = (await c.get(f"/api/conversations/{cid}/events/count")).json()
        seen, page_id = [], None
        while True:
            params = {"limit": 3, **({"page_id": page_id} if page_id else {})}
            page = (await c.get(f"/api/conversations/{cid}/events/search", params=params)).json()
            if page_id:
                assert page["items"][0]["id"] == page_id
            seen += page["items"]
            page_id = page["next_page_id"]
            if not page_id:
                break
        assert len(seen) == total == len({e["id"] for e in seen}) == 12
        assert (await c.get(f"/api/conversations/{cid}/events/count", params={"kind": "ActionEvent"})).json() == 0
        ts = seen[2]["timestamp"]
        page = (
            await c.get(f"/api/conversations/{cid}/events/search", params={"timestamp__gte": ts, "limit": 1})
        ).json()
        assert page["items"][0]["id"] == seen[2]["id"]
        bogus = (await c.get(f"/api/conversations/{cid}/events/search", params={"page_id": "bogus"})).json()
        assert bogus == {"items": [], "next_page_id": None}
        one = (await c.get(f"/api/conversations/{cid}/events/{seen[5]['id']}")).json()
        assert "critic_result" in one and one["critic_result"] is None  # get-one keeps nulls
        async with websockets.connect(
            f"{demo_server_143.ws_url}/sockets/events/{cid}?resend_mode=since&after_timestamp={ts}"
        ) as ws:
            frames = [json.loads(await ws.recv()) for _ in range(1 + len(seen) - 2)]
        assert [f["id"] for f in frames[1:]] == [e["id"] for e in seen[2:]]


async def test_conversation_pages(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        ids = [(await c.post("/api/conversations", json=create_body())).json()["id"] for _ in range(5)]
        page = (await c.get("/api/conversations/search", params={"limit": 2})).json()
        assert [i["id"] for i in page["items"]] == ids[::-1][:2]
        assert page["next_page_id"] == ids[2].replace("-", "")
        page = (await c.get("/api/conversations/search", params={"limit": 2, "page_id": page["next_page_id"]})).json()
        assert page["items"][0]["id"] == ids[2]
        assert (await c.get("/api/conversations/count")).json() == 5


def test_huge_seeded_history_is_fast():
    started = time.monotonic()
    with DemoServer(seed_conversations=2, seed_history=100_000, **FAST_KNOBS) as srv:
        assert time.monotonic() - started < 5
        with httpx.Client(base_url=srv.base_url) as c:
            convs = c.get("/api/conversations/search").json()["items"]
            assert len(convs) == 2 and all(x["execution_status"] == "finished" for x in convs)
            cid = convs[0]["id"]
            assert c.get(f"/api/conversations/{cid}/events/count").json() == 100_000
            t0 = time.monotonic()
            page_id, pages = None, 0
            for _ in range(20):
                params = {"limit": 100, **({"page_id": page_id} if page_id else {})}
                page = c.get(f"/api/conversations/{cid}/events/search", params=params).json()
                page_id, pages = page["next_page_id"], pages + 1
            last = c.get(
                f"/api/conversations/{cid}/events/search", params={"sort_order": "TIMESTAMP_DESC", "limit": 5}
            ).json()
            assert time.monotonic() - t0 < 3
            assert (
                len(last["items"]) == 5
                and c.get(f"/api/conversations/{cid}/events/{last['items'][0]['id']}").status_code == 200
            )


async def test_flood_emits_n_events(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        async with websockets.connect(f"{demo_server.ws_url}/sockets/events/{cid}", max_size=None) as ws:
            await ws.recv()
            await c.post(f"/api/conversations/{cid}/events", json=say("flood 2000"))
            frames = await frames_until(ws, is_final_snapshot, timeout=30)
        assert sum(f["kind"] in ("ActionEvent", "ObservationEvent") for f in frames) >= 2000


async def test_demo_seed_is_alive():
    with DemoServer(demo_seed=True, **FAST_KNOBS) as srv:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                items = (await c.get("/api/conversations/search")).json()["items"]
                statuses = {i["title"]: i["execution_status"] for i in items}
                if statuses.get("Tool call demo") == "finished" and statuses.get("An LLM error") == "error":
                    break
                await asyncio.sleep(0.05)
            assert statuses["Waiting for your confirmation"] == "waiting_for_confirmation"
            assert statuses["Tool call demo"] == "finished" and statuses["An LLM error"] == "error"
            assert len(items) == 4


# ---------------------------------------------------------------- persistence across a restart


def _start_subprocess(persist: Path, port: int = 0) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "DEMO_KEY": SESSION_KEY}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.demo",
            "--port",
            str(port),
            "--persist-dir",
            str(persist),
            "--session-key-env",
            "DEMO_KEY",
            "--slow-seconds",
            "5",
            "--tool-seconds",
            "0.05",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return proc, line.split()[-1]


def test_persistence_survives_restart_and_running_becomes_error(tmp_path):
    headers = {"X-Session-API-Key": SESSION_KEY}
    proc, url = _start_subprocess(tmp_path)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
            done = c.post("/api/conversations", json=create_body()).json()["id"]
            c.post(f"/api/conversations/{done}/events", json=say("[bash] go"))
            busy = c.post("/api/conversations", json=create_body()).json()["id"]
            deadline = time.monotonic() + 10
            while c.get(f"/api/conversations/{done}").json()["execution_status"] != "finished":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            c.patch(f"/api/conversations/{done}", json={"title": "Kept title"})
            before = c.get(f"/api/conversations/{done}/events/search").json()["items"]
            c.post(f"/api/conversations/{busy}/events", json=say("[slowbash] long tool"))
            while (
                c.get(
                    f"/api/conversations/{busy}/events/count",
                    params={"kind": "openhands.sdk.event.llm_convertible.action.ActionEvent"},
                ).json()
                < 1
            ):
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        proc.kill()
        proc.wait(10)
    proc, url = _start_subprocess(tmp_path)
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
            info = c.get(f"/api/conversations/{done}").json()
            assert (info["execution_status"], info["title"]) == ("finished", "Kept title")
            after = c.get(f"/api/conversations/{done}/events/search").json()["items"]
            assert [e["id"] for e in after] == [e["id"] for e in before]
            assert c.get(f"/api/conversations/{busy}").json()["execution_status"] == "error"
            errors = c.get(
                f"/api/conversations/{busy}/events/search",
                params={"kind": "openhands.sdk.event.llm_convertible.observation.AgentErrorEvent"},
            ).json()["items"]
            assert len(errors) == 1 and errors[0]["error"].startswith("A restart occurred")
    finally:
        proc.terminate()
        proc.wait(10)
