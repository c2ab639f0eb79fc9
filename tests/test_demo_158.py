"""The embedded server's 1.58.2 behaviour (the default) against its 1.43.1 switch, over real loopback sockets."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fixtures_demo import start_demo
from tests.test_demo_server import create_body, say, wait_status

CODING_TOOLS = [{"name": "terminal"}, {"name": "file_editor"}, {"name": "task_tracker"}]


async def events(c: httpx.AsyncClient, cid: str, **params) -> list[dict]:
    return (await c.get(f"/api/conversations/{cid}/events/search", params={"limit": 100, **params})).json()["items"]


MESSAGE_KIND = "openhands.sdk.event.llm_convertible.message.MessageEvent"  # both versions match the full path


async def agent_texts(c: httpx.AsyncClient, cid: str) -> list[str]:
    items = await events(c, cid, kind=MESSAGE_KIND, source="agent")
    return [e["llm_message"]["content"][0]["text"] for e in items]


async def test_server_info_and_tool_catalog_follow_the_protocol_switch(demo_server, demo_server_143):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        info = (await c.get("/server_info")).json()
        assert info["version"] == "1.58.2" and "tool_catalog_v1" in info["capabilities"]
        assert info["conversation_runtime"] == "local"
        tools = (await c.get("/api/tools/catalog")).json()["tools"]
        offered = {t["name"] for t in tools if t["user_selectable"] and t["usable"]}
        assert {"terminal", "file_editor", "task_tracker"} <= offered
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        info = (await c.get("/server_info")).json()
        assert info["version"] == "1.43.1" and "conversation_runtime" not in info
        assert (await c.get("/api/tools/catalog")).status_code == 404


async def test_run_limit_answers_429_and_a_stored_message_waits_for_run():
    srv = start_demo(max_runs=1, slow_seconds=1.5)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            a = (await c.post("/api/conversations", json=create_body())).json()["id"]
            b = (await c.post("/api/conversations", json=create_body())).json()["id"]
            d = await c.post("/api/conversations", json=create_body(confirmation_policy={"kind": "AlwaysConfirm"}))
            d = d.json()["id"]
            await c.post(f"/api/conversations/{d}/events", json=say("[bash]"))
            await wait_status(c, d, {"waiting_for_confirmation"})
            await c.post(f"/api/conversations/{a}/events", json=say("[slow] take the only slot"))
            await wait_status(c, a, {"running"})

            count = (await c.get("/api/conversations/count")).json()
            r = await c.post("/api/conversations", json=create_body())
            assert (r.status_code, r.json()["detail"]) == (
                429,
                "Conversation run limit reached. Retry the request later.",
            )
            assert (await c.get("/api/conversations/count")).json() == count  # nothing created

            r = await c.post(f"/api/conversations/{b}/events", json=say("[text] B while full"))
            assert r.status_code == 429 and f"Retry POST /api/conversations/{b}/run" in r.json()["detail"]
            users = await events(c, b, kind="MessageEvent", source="user")
            assert [u["llm_message"]["content"][0]["text"] for u in users] == ["[text] B while full"]  # stored
            assert (await c.post(f"/api/conversations/{b}/run")).status_code == 429
            r = await c.post(f"/api/conversations/{d}/events/respond_to_confirmation", json={"accept": True})
            assert r.status_code == 429
            assert (await c.get(f"/api/conversations/{d}")).json()["execution_status"] == "waiting_for_confirmation"
            assert (await c.post(f"/api/conversations/{a}/children", json={"task": "x"})).status_code == 429
            assert (
                await c.post(f"/api/conversations/{b}/events", json=say("[text] more", run=False))
            ).status_code == 200

            await wait_status(c, a, {"finished"})
            await asyncio.sleep(0.3)
            assert (await c.get(f"/api/conversations/{b}")).json()["execution_status"] == "idle"  # nothing restarts it
            assert await agent_texts(c, b) == []
            assert (await c.post(f"/api/conversations/{b}/run")).status_code == 200
            await wait_status(c, b, {"finished"})
            assert len(await agent_texts(c, b)) == 1  # one reply covers the stored messages
    finally:
        srv.stop()


async def test_run_limit_does_not_exist_in_143_mode():
    srv = start_demo("1.43", max_runs=1, slow_seconds=1.0)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            a = (await c.post("/api/conversations", json=create_body())).json()["id"]
            await c.post(f"/api/conversations/{a}/events", json=say("[slow]"))
            await wait_status(c, a, {"running"})
            b = await c.post("/api/conversations", json=create_body(initial_message=say("[text] hi")))
            assert b.status_code == 201
    finally:
        srv.stop()


@pytest.mark.parametrize(("protocol", "replies_in_first_run"), [("1.58", 2), ("1.43", 1)])
async def test_message_sent_while_the_last_reply_is_written(protocol, replies_in_first_run):
    srv = start_demo(protocol, slow_seconds=1.0)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            cid = (await c.post("/api/conversations", json=create_body(stream=True))).json()["id"]
            await c.post(f"/api/conversations/{cid}/events", json=say("[slow] first"))
            await wait_status(c, cid, {"running"})
            await asyncio.sleep(0.3)  # the LLM is writing the reply that ends the turn
            r = await c.post(f"/api/conversations/{cid}/events", json=say("[text] second, sent mid-reply", run=False))
            assert r.status_code == 200
            await wait_status(c, cid, {"finished"})
            await asyncio.sleep(0.5)
            info = (await c.get(f"/api/conversations/{cid}")).json()
            assert info["execution_status"] == "finished"
            assert len(await agent_texts(c, cid)) == replies_in_first_run
            statuses = [e["value"] for e in await events(c, cid) if e.get("key") == "execution_status"]
            if protocol == "1.58":
                assert statuses[-3:] == ["finished", "running", "finished"]  # the same run goes on
    finally:
        srv.stop()


async def test_changed_status_codes(demo_server, demo_server_143):
    missing = "4cf46300-94ad-4f46-9d6c-a5ef94b65eff"
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        cid = await _finished(c, "[bash]")
        for method, path in (("POST", "pause"), ("POST", "interrupt"), ("GET", "runtime")):
            assert (await c.request(method, f"/api/conversations/{missing}/{path}")).status_code == 404
        assert (await c.delete(f"/api/conversations/{missing}")).status_code == 404
        assert (await c.patch(f"/api/conversations/{missing}", json={"title": "x"})).status_code == 404
        assert (await c.get(f"/api/conversations/{cid}/events/not-an-id")).status_code == 404
        r = await c.get("/api/conversations/search", params={"limit": 101})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "less_than_equal"
        r = await c.patch(f"/api/conversations/{cid}", json={"title": "   "})
        assert r.status_code == 422 and "blank" in r.json()["detail"][0]["msg"]
        assert (await c.patch(f"/api/conversations/{cid}", json={"title": "  padded  "})).status_code == 200
        assert (await c.get(f"/api/conversations/{cid}")).json()["title"] == "padded"
        count = await c.get(f"/api/conversations/{cid}/events/count", params={"kind": "ActionEvent"})
        assert count.json() == 2  # the short class name matches
    async with httpx.AsyncClient(base_url=demo_server_143.base_url) as c:
        assert (await c.post(f"/api/conversations/{missing}/pause")).status_code == 400
        assert (await c.patch(f"/api/conversations/{missing}", json={"title": "x"})).json() == {"success": False}


async def _finished(c: httpx.AsyncClient, text: str, **extra) -> str:
    cid = (await c.post("/api/conversations", json=create_body(**extra))).json()["id"]
    await c.post(f"/api/conversations/{cid}/events", json=say(text))
    await wait_status(c, cid, {"finished"})
    return cid


async def test_runtime_info_children_and_fork(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        created = (await c.post("/api/conversations", json=create_body())).json()
        assert created["runtime_info"] is None  # null in the create response only
        parent = created["id"]
        info = (await c.get(f"/api/conversations/{parent}")).json()
        available = {"runtime_status": "available", "can_resume": True, "runtime_error": None}
        assert info["runtime_info"] == available
        assert (await c.get(f"/api/conversations/{parent}/runtime")).json() == available
        assert (await c.post(f"/api/conversations/{parent}/runtime/reprovision")).json() == available

        shared = await c.post(f"/api/conversations/{parent}/children", json={"task": "[finish]", "isolation": "shared"})
        assert shared.status_code == 201 and shared.json()["status"] == "idle"
        assert shared.json()["workspace"] == "/tmp/demo-ws"
        tree = await c.post(f"/api/conversations/{parent}/children", json={"task": "[text] hi", "title": "Tree"})
        assert tree.json()["isolation"] == "worktree" and tree.json()["workspace"] != "/tmp/demo-ws"
        children = [shared.json()["conversation_id"], tree.json()["conversation_id"]]
        for child in children:
            done = await wait_status(c, child, {"finished"})  # started running at once
            assert done["parent_conversation_id"] == parent
        assert (await c.get(f"/api/conversations/{parent}")).json()["sub_conversation_ids"] == children
        r = await c.post("/api/conversations/4cf46300-94ad-4f46-9d6c-a5ef94b65eff/children", json={"task": "x"})
        assert (r.status_code, r.json()) == (404, {"detail": "Parent conversation not found"})
        assert (await c.post(f"/api/conversations/{parent}/children", json={"task": ""})).status_code == 422

        fork = (await c.post(f"/api/conversations/{children[0]}/fork", json={"title": "Fork"})).json()
        assert fork["forked_from_conversation_id"] == children[0] and fork["parent_conversation_id"] is None
        assert len(await events(c, fork["id"])) == len(await events(c, children[0]))


async def test_security_analysis_and_risky_confirmation(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        body = create_body(
            security_analyzer={"kind": "LLMSecurityAnalyzer"},
            confirmation_policy={"kind": "ConfirmRisky", "threshold": "HIGH"},
        )
        cid = (await c.post("/api/conversations", json=body)).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("[bash] low risk"))
        await wait_status(c, cid, {"finished"})
        await c.post(f"/api/conversations/{cid}/events", json=say("[risk] high risk"))
        await wait_status(c, cid, {"waiting_for_confirmation"})
        analyses = await events(c, cid, kind="SecurityAnalysisEvent")
        actions = [e for e in await events(c, cid, kind="ActionEvent") if e["tool_name"] == "terminal"]
        assert [list(a["risks"].values()) for a in analyses] == [["LOW"], ["HIGH"]]
        assert [a["security_risk"] for a in actions] == ["LOW", "HIGH"]
        assert analyses[1]["risks"] == {actions[1]["id"]: "HIGH"} and analyses[1]["policy"] == "ConfirmRisky"
        await c.post(f"/api/conversations/{cid}/events/respond_to_confirmation", json={"accept": True})
        await wait_status(c, cid, {"finished"})

        plain = await c.post("/api/conversations", json=create_body(confirmation_policy={"kind": "ConfirmRisky"}))
        plain_id = plain.json()["id"]
        await c.post(f"/api/conversations/{plain_id}/events", json=say("[bash] no analyzer"))
        await wait_status(c, plain_id, {"waiting_for_confirmation"})  # risk UNKNOWN asks
        assert await events(c, plain_id, kind="SecurityAnalysisEvent") == []
        await c.post(f"/api/conversations/{plain_id}/events/respond_to_confirmation", json={"accept": False})
        await c.post(f"/api/conversations/{plain_id}/security_analyzer", json={"security_analyzer": {"kind": "X"}})
        policy = {"kind": "ConfirmRisky", "threshold": "MEDIUM", "confirm_unknown": False}
        await c.post(f"/api/conversations/{plain_id}/confirmation_policy", json={"policy": policy})
        await c.post(f"/api/conversations/{plain_id}/events", json=say("[bash] with the analyzer now"))
        await wait_status(c, plain_id, {"finished"})  # LOW < MEDIUM: runs without asking


async def test_coding_session_edits_files_runs_tests_and_git_reports_it(demo_server):
    workdir = "/tmp/demo-ws"
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        body = create_body()
        body["agent"]["tools"] = CODING_TOOLS
        cid = (await c.post("/api/conversations", json=body)).json()["id"]
        await c.post(f"/api/conversations/{cid}/events", json=say("code: add a median helper"))
        await wait_status(c, cid, {"finished"}, timeout=20)
        items = await events(c, cid)
        observations = [e["observation"] for e in items if e["kind"] == "ObservationEvent"]
        edits = [o for o in observations if o["kind"] == "FileEditorObservation"]
        assert [e["command"] for e in edits] == ["create", "create", "str_replace", "insert"]
        assert edits[0]["prev_exist"] is False and "old_content" not in edits[0]  # null omitted
        assert edits[2]["prev_exist"] is True and edits[2]["old_content"] == edits[0]["new_content"]
        assert edits[3]["old_content"] == edits[2]["new_content"]
        runs = [o for o in observations if o["kind"] == "TerminalObservation"]
        assert [r["exit_code"] for r in runs] == [1, 0]
        assert "1 failed, 2 passed" in runs[0]["content"][0]["text"] and "3 passed" in runs[1]["content"][0]["text"]
        plans = [o["task_list"] for o in observations if o["kind"] == "TaskTrackerObservation"]
        assert [[t["status"] for t in p] for p in plans][-1] == ["done", "done", "done"]
        assert len(plans) == 3 and {t["title"] for t in plans[0]} == {t["title"] for t in plans[-1]}
        assert any(e.get("reasoning_content") for e in items if e["kind"] == "ActionEvent")

        changes = (await c.get(f"/api/conversations/{cid}/git/changes", params={"path": workdir})).json()
        assert changes == [{"status": "ADDED", "path": "stats.py"}, {"status": "ADDED", "path": "test_stats.py"}]
        diff = (await c.get(f"/api/conversations/{cid}/git/diff", params={"path": f"{workdir}/stats.py"})).json()
        assert diff["original"] == "" and diff["modified"] == edits[3]["new_content"].rstrip("\n")
        assert "(ordered[middle - 1] + ordered[middle]) / 2" in diff["modified"]
        r = await c.get(f"/api/conversations/{cid}/git/changes", params={"path": "/tmp"})
        assert (r.status_code, r.json()) == (422, {"detail": "path must be inside the conversation workspace"})
        r = await c.get(f"/api/conversations/{cid}/git/diff", params={"path": f"{workdir}/nope.py"})
        assert r.status_code == 400 and r.json()["detail"].startswith("File does not exist")


async def test_the_scripted_agent_starts_child_conversations(demo_server):
    async with httpx.AsyncClient(base_url=demo_server.base_url) as c:
        parent = await _finished(c, "[child] split the work")
        children = (await c.get(f"/api/conversations/{parent}")).json()["sub_conversation_ids"]
        assert len(children) == 2
        started = [
            e["observation"]["conversation_id"]
            for e in await events(c, parent, kind="ObservationEvent")
            if e["tool_name"] == "start_child_conversation"
        ]
        assert started == children
        for child in children:
            info = await wait_status(c, child, {"finished"})
            assert info["parent_conversation_id"] == parent and info["title"].startswith("Child: ")


async def test_edits_survive_a_restart_with_a_persist_dir(tmp_path):
    srv = start_demo(persist_dir=tmp_path)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            cid = await _finished(c, "[edit] make hello.py")
    finally:
        srv.stop()
    srv = start_demo(persist_dir=tmp_path)
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as c:
            changes = await c.get(f"/api/conversations/{cid}/git/changes", params={"path": "/tmp/demo-ws"})
            assert changes.json() == [{"status": "ADDED", "path": "hello.py"}]
            diff = await c.get(f"/api/conversations/{cid}/git/diff", params={"path": "/tmp/demo-ws/hello.py"})
            assert 'return f"Hello, {name}!"' in diff.json()["modified"]
    finally:
        srv.stop()
