"""A full server (429): a create is asked again with the same conversation id, and nothing else is retried."""

from __future__ import annotations

import pytest

from tests.scripted_server import Reply, ScriptedServer
from tui.client import AgentClient, InvalidRequest
from tui.protocol import StartConversationRequest
from tui.session import create_when_room

FULL = {"detail": "Conversation run limit reached. Retry the request later."}


def request() -> StartConversationRequest:
    return StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/w")


async def test_a_create_refused_by_a_full_server_is_asked_again_with_the_same_conversation_id():
    answers = [Reply(429, FULL), Reply(429, FULL)]

    def handler(method: str, path: str, body) -> Reply:
        if answers:
            return answers.pop(0)
        return Reply(201, {"id": body["conversation_id"], "execution_status": "idle"})

    waits: list[bool] = []
    async with ScriptedServer(handler) as server, AgentClient(server.url) as client:
        info = await create_when_room(client, request(), on_wait=waits.append, delays=(0.01,))
    creates = server.seen("POST", "/api/conversations")
    assert len(creates) == 3
    ids = {r.body["conversation_id"] for r in creates}
    assert ids == {info.id}, "one id for every try: a lost answer cannot make two conversations"
    assert waits == [True, False]


async def test_a_create_refused_for_another_reason_is_not_repeated():
    async with (
        ScriptedServer(lambda m, p, b: Reply(422, {"detail": "bad"})) as server,
        AgentClient(server.url) as client,
    ):
        with pytest.raises(InvalidRequest):
            await create_when_room(client, request(), delays=(0.01,))
    assert len(server.seen("POST", "/api/conversations")) == 1


async def test_on_a_full_embedded_server_a_message_is_stored_once_and_answered_when_a_slot_frees(monkeypatch):
    from tests.helpers import following, new_conversation, user_texts
    from tui.demo import DemoServer
    from tui.protocol import ExecutionStatus
    from tui.session import ItemState
    from tui.session import conversation as conversation_module

    monkeypatch.setattr(conversation_module, "CAPACITY_BACKOFF", (0.2,))
    with DemoServer(slow_seconds=2.0, token_rate=50, max_runs=1) as server:
        async with AgentClient(server.base_url) as client:
            a, b = await new_conversation(client), await new_conversation(client)
            async with following(client, a) as busy, following(client, b) as session:
                await busy.submit("[slow] holds the only run slot")
                assert await busy.wait_until(lambda: busy.status is ExecutionStatus.RUNNING, 10)
                item = await session.submit("[text] hello while the server is full")
                assert await session.wait_until(
                    lambda: (i := session.outbox.get(item.id)) is not None and i.state is ItemState.STARTING, 10
                ), "shown as stored, waiting for a run"
                assert await session.wait_until(lambda: item.id in session.settled, 30)
                assert session.settled[item.id] is ExecutionStatus.FINISHED
                assert not session.outbox and session.capacity_wait is None
            events = await client.all_events(b)
    assert user_texts(events) == ["[text] hello while the server is full"], "sent once"
    assert any(getattr(e, "source", None) == "agent" and e.kind == "MessageEvent" for e in events), "answered"
