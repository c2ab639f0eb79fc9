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
