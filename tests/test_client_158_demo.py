"""`AgentClient` against the embedded server in 1.58 mode: a full server (429) and what was and was not stored,
the 1.58 status codes, the new routes, the risk of a pending action, the server's version."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.fixtures_demo import start_demo
from tui.client import AgentClient, InvalidRequest, NotFound, ServerFull
from tui.protocol import (
    ExecutionStatus,
    MessageEvent,
    ObservationEvent,
    SecurityAnalysisEvent,
    SecurityRisk,
    StartConversationRequest,
    risk_of,
)

pytestmark = pytest.mark.timeout(60)


def new_request(tmp_path, *, confirm: bool = False) -> StartConversationRequest:
    return StartConversationRequest.build(model="demo/scripted", working_dir=str(tmp_path), confirm=confirm)


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, what: str = "") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{what or 'condition'} not met within {timeout} s (last value {value!r})")
        await asyncio.sleep(0.05)


def user_texts(events) -> list[str]:
    return [e.text for e in events if isinstance(e, MessageEvent) and e.source == "user"]


def agent_replies(events) -> list[MessageEvent]:
    return [e for e in events if isinstance(e, MessageEvent) and e.source == "agent"]


async def test_a_full_server_refuses_with_server_full_and_keeps_only_the_message(tmp_path):
    server = start_demo(max_runs=1, slow_seconds=4.0)
    try:
        async with AgentClient(server.base_url) as client:
            holder = await client.create_conversation(new_request(tmp_path))
            waiting = await client.create_conversation(new_request(tmp_path))
            approve_me = await client.create_conversation(new_request(tmp_path, confirm=True))

            # One conversation waits for approval (holds no slot), then another takes the only slot.
            await client.send_message(approve_me.id, "[bash] needs confirmation")
            await wait_for(
                lambda: _status_is(client, approve_me.id, ExecutionStatus.WAITING_FOR_CONFIRMATION), what="waiting"
            )
            await client.send_message(holder.id, "[slow] hold the only run slot")
            await wait_for(lambda: _status_is(client, holder.id, ExecutionStatus.RUNNING), what="holder running")

            with pytest.raises(ServerFull) as sent:
                await client.send_message(waiting.id, "[text] answer me later")
            assert sent.value.stored is True and "saved" in sent.value.message
            with pytest.raises(ServerFull) as created:
                await client.create_conversation(new_request(tmp_path))
            assert created.value.stored is False
            with pytest.raises(ServerFull) as ran:
                await client.run(waiting.id)
            assert ran.value.stored is False
            with pytest.raises(ServerFull):
                await client.respond_to_confirmation(approve_me.id, True)
            with pytest.raises(ServerFull):
                await client.create_child(holder.id, "[finish] a child")
            for error in (sent.value, created.value, ran.value):
                assert error.message.startswith(f"server {server.base_url.rstrip('/')} is at its run limit; ")

            # What was stored and what was not.
            assert user_texts(await client.all_events(waiting.id)) == ["[text] answer me later"]
            assert not agent_replies(await client.all_events(waiting.id))
            assert len(await client.search_conversations()) == 3  # the refused create left nothing behind
            assert (await client.get_conversation(approve_me.id)).status is ExecutionStatus.WAITING_FOR_CONFIRMATION
            assert (await client.get_conversation(holder.id)).sub_conversation_ids == []

            # The slot frees up: starting the run (never resending) gets the stored message answered.
            await wait_for(lambda: _status_is(client, holder.id, ExecutionStatus.FINISHED), what="holder done")
            assert await client.run(waiting.id) is True
            events = await wait_for(lambda: _replied(client, waiting.id), what="the stored message answered")
            assert user_texts(events) == ["[text] answer me later"]  # exactly once
            await wait_for(lambda: _status_is(client, waiting.id, ExecutionStatus.FINISHED), what="waiting done")
            await client.respond_to_confirmation(approve_me.id, True)  # the approval goes through now
            await wait_for(
                lambda: _has_observation(client, approve_me.id), what="the approved action ran after the retry"
            )
    finally:
        server.stop()


async def _status_is(client: AgentClient, cid: str, status: ExecutionStatus) -> bool:
    return (await client.get_conversation(cid)).status is status


async def _replied(client: AgentClient, cid: str):
    events = await client.all_events(cid)
    return events if agent_replies(events) else None


async def _has_observation(client: AgentClient, cid: str) -> bool:
    return any(isinstance(e, ObservationEvent) for e in await client.all_events(cid))


async def test_the_158_status_codes_read_as_not_found(demo_server, tmp_path):
    missing = str(uuid.uuid4())
    async with AgentClient(demo_server.base_url) as client:
        for call in (client.pause, client.interrupt, client.delete_conversation, client.runtime, client.reprovision):
            with pytest.raises(NotFound) as info:
                await call(missing)
            assert info.value.status == 404 and missing in info.value.message, call.__name__
        with pytest.raises(NotFound) as info:
            await client.rename_conversation(missing, "a title")
        assert info.value.status == 404
        with pytest.raises(NotFound):
            await client.create_child(missing, "[finish] orphan")
        conv = await client.create_conversation(new_request(tmp_path))
        with pytest.raises(NotFound) as info:
            await client.get_event(conv.id, str(uuid.uuid4()))
        assert info.value.status == 404
        with pytest.raises(InvalidRequest):
            await client.rename_conversation(conv.id, "   ")
        await client.rename_conversation(conv.id, "  kept  ")
        assert (await client.get_conversation(conv.id)).title == "kept"


async def test_server_info_picks_the_protocol(demo_server, demo_server_143):
    async with AgentClient(demo_server.base_url) as new, AgentClient(demo_server_143.base_url) as old:
        info = await new.server_info()
        assert info.version_tuple is not None and info.version_tuple >= (1, 58, 0)
        assert info.supports_session_socket and info.supports_tool_catalog and info.supports_runtime_routes
        legacy = await old.server_info()
        assert legacy.version_tuple == (1, 43, 1) and not legacy.supports_session_socket
        assert not legacy.supports_runtime_routes
        with pytest.raises(NotFound):
            await old.tools_catalog()


async def test_runtime_children_catalog_and_git_of_an_edit(demo_server, tmp_path):
    async with AgentClient(demo_server.base_url) as client:
        parent = await client.create_conversation(new_request(tmp_path))
        assert parent.runtime_info is None  # null in the create response
        got = await client.get_conversation(parent.id)
        assert got.runtime_info is not None and got.runtime_info.is_usable and got.runtime_problem == ""
        assert (await client.runtime(parent.id)).can_resume
        assert (await client.reprovision(parent.id)).is_usable

        child = await client.create_child(parent.id, "[finish] child task", title="Child", isolation="shared")
        assert child.parent_conversation_id == parent.id and child.isolation == "shared"
        await wait_for(lambda: _sub_ids(client, parent.id), what="the parent lists its child")
        assert (await client.get_conversation(parent.id)).sub_conversation_ids == [child.conversation_id]
        assert (await client.get_conversation(child.conversation_id)).parent_conversation_id == parent.id

        catalog = await client.tools_catalog()
        assert {"terminal", "file_editor"} <= {t.name for t in catalog.offerable}

        await client.send_message(parent.id, "[edit] create hello.py and fix it")
        await wait_for(lambda: _status_is(client, parent.id, ExecutionStatus.FINISHED), what="edit done")
        workdir = got.working_dir
        changes = await client.git_changes(parent.id, workdir)
        assert ("ADDED", "hello.py") in [(c.status, c.path) for c in changes]
        diff = await client.git_diff(parent.id, workdir.rstrip("/") + "/hello.py")
        assert diff.original == "" and "def greet" in (diff.modified or "")
        edits = [e.file_edit for e in await client.all_events(parent.id) if isinstance(e, ObservationEvent)]
        assert any(edit is not None and edit.command == "create" for edit in edits)
        with pytest.raises(InvalidRequest) as info:
            await client.git_changes(parent.id, "/not/the/workspace")
        assert "inside the conversation workspace" in info.value.message


async def _sub_ids(client: AgentClient, cid: str) -> list[str]:
    return (await client.get_conversation(cid)).sub_conversation_ids


async def test_the_risk_of_the_pending_action_from_the_history(demo_server, tmp_path):
    async with AgentClient(demo_server.base_url) as client:
        conv = await client.create_conversation(new_request(tmp_path))
        await client.set_security_analyzer(conv.id, {"kind": "LLMSecurityAnalyzer"})
        await client.set_confirmation_policy(conv.id, {"kind": "ConfirmRisky", "threshold": "HIGH"})
        await client.send_message(conv.id, "[risk] run the dangerous one")
        await wait_for(
            lambda: _status_is(client, conv.id, ExecutionStatus.WAITING_FOR_CONFIRMATION), what="waiting on HIGH"
        )
        events = await client.all_events(conv.id)
        analyses = [e for e in events if isinstance(e, SecurityAnalysisEvent)]
        assert analyses and analyses[-1].highest is SecurityRisk.HIGH
        pending = analyses[-1].parent_id
        assert pending is not None and risk_of(pending, events) is SecurityRisk.HIGH
        # Found by its short kind name too (the client translates it to the class path).
        assert await client.count_events(conv.id, kind="SecurityAnalysisEvent") == len(analyses)
