"""The embedded server's 1.58 session socket (`/sockets/session/{id}`) over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.fixtures_demo import SESSION_KEY, start_demo
from tests.test_demo_server import create_body, say, wait_status


async def next_frames(ws, until, timeout: float = 10) -> list[dict[str, Any]]:
    """Frames up to and including the first one ``until`` accepts."""
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            got.append(frame)
            if until(frame):
                return got


def final_snapshot(frame: dict) -> bool:
    event = frame.get("event") or {}
    return (
        frame["type"] == "transient"
        and event.get("key") == "full_state"
        and event["value"]["execution_status"] not in ("idle", "running")
    )


def durable_seqs(frames: list[dict]) -> list[int]:
    return [f["seq"] for f in frames if f["type"] == "durable"]


async def finished_conversation(c: httpx.AsyncClient, text: str = "[bash]", stream: bool = False) -> str:
    cid = (await c.post("/api/conversations", json=create_body(stream=stream))).json()["id"]
    await c.post(f"/api/conversations/{cid}/events", json=say(text))
    await wait_status(c, cid, {"finished"})
    return cid


async def test_replay_then_snapshot_then_live_and_exact_resume(demo_server):
    srv = demo_server
    async with httpx.AsyncClient(base_url=srv.base_url) as c:
        cid = await finished_conversation(c)
        total = (await c.get(f"/api/conversations/{cid}/events/count")).json()
        url = f"{srv.ws_url}/sockets/session/{cid}"
        async with websockets.connect(url + "?after_seq=-1") as ws:
            frames = await next_frames(ws, lambda f: f["type"] == "transient")
        assert frames[0] == {"type": "sync", "from_seq": -1, "through_seq": total - 1}
        assert durable_seqs(frames) == list(range(total))
        assert [f["type"] for f in frames] == ["sync", *["durable"] * total, "transient"]
        assert frames[-1]["event"]["key"] == "full_state" and "seq" not in frames[-1]
        search = (await c.get(f"/api/conversations/{cid}/events/search")).json()["items"]
        assert [f["event"]["id"] for f in frames[1:-1]] == [e["id"] for e in search]  # seq = REST position

        async with websockets.connect(url) as ws:  # live only: no history, from_seq omitted
            frames = await next_frames(ws, lambda f: f["type"] == "transient")
            assert frames[0] == {"type": "sync", "through_seq": total - 1}
            assert len(frames) == 2
            await c.post(f"/api/conversations/{cid}/events", json=say("[text] again"))
            live = await next_frames(ws, final_snapshot)
        assert durable_seqs(live) == list(range(total, total + len(durable_seqs(live))))

        end = (await c.get(f"/api/conversations/{cid}/events/count")).json() - 1
        async with websockets.connect(url + f"?after_seq={total - 1}") as ws:
            frames = await next_frames(ws, lambda f: f["type"] == "transient")
        assert frames[0] == {"type": "sync", "from_seq": total - 1, "through_seq": end}
        assert durable_seqs(frames) == list(range(total, end + 1))
        for after, expected in ((9999, []), (-5, list(range(end + 1)))):
            async with websockets.connect(url + f"?after_seq={after}") as ws:
                frames = await next_frames(ws, lambda f: f["type"] == "transient")
            assert durable_seqs(frames) == expected


async def test_stream_slot_is_closed_by_the_final_message_with_its_id(demo_server):
    srv = demo_server
    async with httpx.AsyncClient(base_url=srv.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]
        async with websockets.connect(f"{srv.ws_url}/sockets/session/{cid}") as ws:
            await next_frames(ws, lambda f: f["type"] == "transient")
            await c.post(f"/api/conversations/{cid}/events", json=say("[think] what is six times seven?"))
            frames = await next_frames(ws, final_snapshot)
    started = [f for f in frames if f["type"] == "item_started"]
    assert len(started) == 1
    item = started[0]["item_id"]
    before = [f["seq"] for f in frames[: frames.index(started[0])] if f["type"] == "durable"]
    assert started[0]["anchor_seq"] == before[-1]  # the last seq in the log when the stream opened
    deltas = [f for f in frames if f["type"] == "delta"]
    assert [d["order"] for d in deltas] == list(range(len(deltas)))
    assert all(d["content"] and d["item_id"] == item and d["attempt"] == 1 for d in deltas)
    kinds = [d["kind"] for d in deltas]
    assert kinds == sorted(kinds)  # reasoning first, then text
    assert {"reasoning", "text"} == set(kinds)
    message = next(
        f["event"]
        for f in frames
        if f["type"] == "durable" and f["event"]["kind"] == "MessageEvent" and f["event"]["source"] == "agent"
    )
    assert message["id"] == item
    assert "".join(d["content"] for d in deltas if d["kind"] == "text") == message["llm_message"]["content"][0]["text"]
    reasoning = "".join(d["content"] for d in deltas if d["kind"] == "reasoning")
    assert reasoning == message["llm_message"]["reasoning_content"]
    assert all(v is not None for f in frames for v in f.values())  # null fields are omitted


async def test_streamed_thought_closes_with_the_action_and_interrupt_aborts_the_slot(demo_server):
    srv = demo_server
    async with httpx.AsyncClient(base_url=srv.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]
        async with websockets.connect(f"{srv.ws_url}/sockets/session/{cid}") as ws:
            await next_frames(ws, lambda f: f["type"] == "transient")
            await c.post(f"/api/conversations/{cid}/events", json=say("[slowfinish]"))
            frames = await next_frames(ws, final_snapshot)
            item = next(f for f in frames if f["type"] == "item_started")["item_id"]
            action = next(f["event"] for f in frames if f["type"] == "durable" and f["event"]["kind"] == "ActionEvent")
            assert action["id"] == item and action["tool_name"] == "finish" and action["thought"]

            await c.post(f"/api/conversations/{cid}/events", json=say("[slow] take your time"))
            await next_frames(ws, lambda f: f["type"] == "delta")
            await c.post(f"/api/conversations/{cid}/interrupt")
            frames = await next_frames(ws, lambda f: f["type"] == "durable" and f["event"]["kind"] == "InterruptEvent")
    aborted = [f for f in frames if f["type"] == "item_aborted"]
    assert len(aborted) == 1 and aborted[0]["reason"] == "cancelled"
    after = frames[frames.index(aborted[0]) :]
    assert next(f["event"].get("value") for f in after if f["type"] == "durable") == "paused"
    assert not any(f["type"] == "durable" and f["event"]["kind"] == "MessageEvent" for f in after)


async def test_inbound_frames_and_handshake_refusals():
    srv = start_demo(session_keys=[SESSION_KEY])
    try:
        headers = {"X-Session-API-Key": SESSION_KEY}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=headers) as c:
            cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        url = f"{srv.ws_url}/sockets/session/{cid}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "session_api_key": SESSION_KEY}))
            assert json.loads(await ws.recv()) == {"type": "sync"}  # empty log: both seqs omitted
            await next_frames(ws, lambda f: f["type"] == "transient")
            await ws.send(json.dumps({"role": "user", "content": [{"type": "text", "text": "[text] over the socket"}]}))
            frames = await next_frames(ws, final_snapshot)
            user = [f["event"] for f in frames if f["type"] == "durable" and f["event"]["kind"] == "MessageEvent"]
            assert user[0]["source"] == "user" and "over the socket" in user[0]["llm_message"]["content"][0]["text"]
            await ws.send(json.dumps({"bogus": 1}))
            error = json.loads(await ws.recv())
            assert (error["type"], error["code"]) == ("error", "ValidationError")
            await ws.send(json.dumps({"type": "auth", "session_api_key": SESSION_KEY}))  # ignored
            await ws.send("not json at all")
            error = json.loads(await ws.recv())
            assert (error["type"], error["code"]) == ("error", "JSONDecodeError")
        async with websockets.connect(url + f"?session_api_key={SESSION_KEY}&after_seq=-1") as ws:  # deprecated key
            assert json.loads(await ws.recv())["type"] == "sync"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "auth", "session_api_key": "wrong"}))
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4001, "Authentication failed")
        async with websockets.connect(f"{srv.ws_url}/sockets/session/4cf46300-94ad-4f46-9d6c-a5ef94b65eff") as ws:
            await ws.send(json.dumps({"type": "auth", "session_api_key": SESSION_KEY}))
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4004, "Conversation not found")
        for bad in (url + "?session_api_key=wrong", f"{srv.ws_url}/sockets/session/not-a-uuid", url + "?after_seq=abc"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(bad)
            assert refused.value.response.status_code == 403
    finally:
        srv.stop()


async def test_oversize_frame_closes_replay_and_live_and_after_it_works():
    srv = start_demo(max_frame_bytes=64 * 1024)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
            await c.post(f"/api/conversations/{cid}/events", json=say("x" * 100_000, run=False))
            url = f"{srv.ws_url}/sockets/session/{cid}"
            async with websockets.connect(url + "?after_seq=-1") as ws:
                frames = []
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        frames.append(json.loads(await ws.recv()))
                assert (ws.close_code, ws.close_reason) == (1013, "frame_too_large")
            assert durable_seqs(frames) == [0]  # the system prompt; the big message is seq 1
            async with websockets.connect(url + "?after_seq=1") as ws:
                frames = await next_frames(ws, lambda f: f["type"] == "transient")
                assert durable_seqs(frames)[0] == 2
                await c.post(f"/api/conversations/{cid}/events", json=say("y" * 100_000, run=False))
                with pytest.raises(websockets.ConnectionClosed):
                    while True:
                        await ws.recv()
                assert (ws.close_code, ws.close_reason) == (1013, "frame_too_large")
    finally:
        srv.stop()


async def test_a_client_that_stops_reading_is_dropped_and_a_reader_is_not():
    srv = start_demo(max_frame_bytes=512 * 1024, max_pending_bytes=1024 * 1024)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url, timeout=30) as c:
            cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
            for i in range(100):  # 15 MB: more than the kernel's socket buffers hold
                await c.post(f"/api/conversations/{cid}/events", json=say(f"{i} " + "z" * 150_000, run=False))
            total = (await c.get(f"/api/conversations/{cid}/events/count")).json()
        url = f"{srv.ws_url}/sockets/session/{cid}?after_seq=-1"
        async with websockets.connect(url, max_queue=1, max_size=None, compression=None) as ws:
            await asyncio.sleep(4)  # not reading: the server's queue grows past its budget
            got = []
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    got.append(json.loads(await ws.recv()))
            assert (ws.close_code, ws.close_reason) == (1013, "slow_consumer")
        seqs = durable_seqs(got)
        assert seqs == list(range(len(seqs))) and len(seqs) < total  # in order, nothing skipped, cut short
        async with websockets.connect(url, max_size=None) as ws:
            frames = await next_frames(ws, lambda f: f["type"] == "transient", timeout=30)
        assert durable_seqs(frames) == list(range(total))
    finally:
        srv.stop()


async def test_dormant_server_refuses_both_sockets_at_the_handshake(dormant_server):
    cid = "4cf46300-94ad-4f46-9d6c-a5ef94b65eff"
    for path in (f"/sockets/session/{cid}", f"/sockets/events/{cid}"):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(dormant_server.ws_url + path)
        assert refused.value.response.status_code == 403


async def test_143_mode_has_no_session_socket(demo_server_143):
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        info = (await c.get("/server_info")).json()
    assert info["version"] == "1.43.1" and "tool_catalog_v1" not in info["capabilities"]
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{demo_server_143.ws_url}/sockets/session/{cid}")


async def test_a_retried_stream_starts_a_higher_attempt_of_the_same_item(demo_server):
    srv = demo_server
    async with httpx.AsyncClient(base_url=srv.base_url) as c:
        cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]
        async with websockets.connect(f"{srv.ws_url}/sockets/session/{cid}") as ws:
            await next_frames(ws, lambda f: f["type"] == "transient")
            await c.post(f"/api/conversations/{cid}/events", json=say("[retry]"))
            frames = await next_frames(ws, final_snapshot)
    started = [f for f in frames if f["type"] == "item_started"]
    assert [s["attempt"] for s in started] == [1, 2] and len({s["item_id"] for s in started}) == 1
    second = [f for f in frames if f["type"] == "delta" and f["attempt"] == 2]
    assert [d["order"] for d in second] == list(range(len(second)))
    assert len({d["chunk_id"] for d in frames if d["type"] == "delta"}) == 2
    message = next(
        f["event"]
        for f in frames
        if f["type"] == "durable" and f["event"]["kind"] == "MessageEvent" and f["event"]["source"] == "agent"
    )
    assert message["id"] == started[0]["item_id"]
    assert "".join(d["content"] for d in second) == message["llm_message"]["content"][0]["text"]


@pytest.mark.parametrize("socket", ["events", "session"])
async def test_an_empty_query_key_is_refused_on_158(socket):
    srv = start_demo(session_keys=[SESSION_KEY])
    try:
        async with httpx.AsyncClient(base_url=srv.base_url, headers={"X-Session-API-Key": SESSION_KEY}) as c:
            cid = (await c.post("/api/conversations", json=create_body())).json()["id"]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{srv.ws_url}/sockets/{socket}/{cid}?session_api_key=")
        assert refused.value.response.status_code == 403
    finally:
        srv.stop()


async def test_resume_through_a_dropping_proxy_delivers_every_event_exactly_once(demo_server):
    """A consumer that resumes with ``after_seq`` after every drop ends with the REST history, each seq once."""
    from tests.proxy import DroppingProxy

    srv = demo_server
    proxy = await DroppingProxy("127.0.0.1", srv.port).start()
    stop = asyncio.Event()
    chaos = asyncio.create_task(proxy.chaos(stop, 0.05, 0.3, seed=11))
    received: dict[int, str] = {}
    last = -1
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]

            async def drive() -> None:
                for text in ("flood 1500", "[bash]", "[think]", "flood 1500", "[slowfinish]"):
                    await c.post(f"/api/conversations/{cid}/events", json=say(text))
                    await wait_status(c, cid, {"finished"}, timeout=30)

            driver = asyncio.create_task(drive())
            url = f"ws://127.0.0.1:{proxy.port}/sockets/session/{cid}"
            connects = 0
            while True:
                try:
                    async with websockets.connect(f"{url}?after_seq={last}", max_size=None, open_timeout=2) as ws:
                        connects += 1
                        async for raw in ws:
                            frame = json.loads(raw)
                            if frame["type"] == "durable":
                                assert frame["seq"] == last + 1, "a gap or a repeat"
                                assert frame["seq"] not in received
                                received[frame["seq"]] = frame["event"]["id"]
                                last = frame["seq"]
                            elif driver.done() and final_snapshot(frame):
                                break
                        else:
                            continue
                        break
                except (OSError, websockets.WebSocketException, TimeoutError):
                    await asyncio.sleep(0.02)
            await driver
            stop.set()
            await chaos
            history = []
            page_id = None
            while True:
                params = {"limit": 100, **({"page_id": page_id} if page_id else {})}
                page = (await c.get(f"/api/conversations/{cid}/events/search", params=params)).json()
                history += [e["id"] for e in page["items"]]
                page_id = page["next_page_id"]
                if not page_id:
                    break
    finally:
        stop.set()
        await proxy.stop()
    assert proxy.drops > 3 and connects > 3
    assert [received[i] for i in range(len(received))] == history
