"""A session holds a bounded tail: the oldest events are dropped from memory and page back in from the server.

What exactly-once needs of the dropped ones (the newest user message, the ids of user messages by text) is kept
as ids; a live frame or a reconcile never brings a dropped event back, paging older history does.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import new_conversation
from tui.client import AgentClient
from tui.protocol import parse_event
from tui.session import ConversationSession, Timeline, conversation


def _message(n: int, text: str, source: str = "user"):
    return parse_event(
        {
            "kind": "MessageEvent",
            "id": f"m{n}",
            "timestamp": f"2025-01-01T00:{n // 60:02d}:{n % 60:02d}",
            "source": source,
            "llm_message": {
                "role": source if source == "user" else "assistant",
                "content": [{"type": "text", "text": text}],
            },
        }
    )


def test_dropped_events_stay_known_and_come_back_only_when_paged_in():
    timeline = Timeline()
    events = [
        _message(n, "hello" if n in (0, 5) else f"reply {n}", "user" if n in (0, 5) else "agent") for n in range(20)
    ]
    timeline.merge(events)
    newest_dropped = timeline.drop_oldest(8)
    assert newest_dropped is not None and newest_dropped.id == "m7"
    assert [e.id for e in timeline] == [f"m{n}" for n in range(8, 20)] and timeline.dropped == 8
    # A live frame or a reconcile that sends them again adds nothing: they are on the server, not new.
    assert timeline.merge(events[:8]).added == [] and len(timeline) == 12
    # What a send compares against survives the drop.
    assert timeline.newest_user_message_id == "m5"
    assert sorted(timeline.user_message_ids("hello")) == ["m0", "m5"]
    # Paged back in (older history): held again, in order, once.
    result = timeline.merge(reversed(events[:8]), readmit=True)
    assert len(result.added) == 8 and result.reordered
    assert [e.id for e in timeline] == [f"m{n}" for n in range(20)] and timeline.dropped == 0
    assert timeline.merge(events, readmit=True).added == []


async def _flood(client: AgentClient, cid: str, n: int) -> None:
    before = await client.count_events(cid)
    await client.send_message(cid, f"flood {n}")
    for _ in range(600):
        if await client.count_events(cid) >= before + n and not (await client.get_conversation(cid)).status.is_busy():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the flood did not arrive")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", ["demo_server", "demo_server_143"])  # the session socket; the events socket
async def test_a_session_holds_a_bounded_tail_and_pages_every_event_back(server, request, monkeypatch):
    demo = request.getfixturevalue(server)
    monkeypatch.setattr(conversation, "TRIM_SLACK", 100)
    async with AgentClient(demo.base_url) as client:
        cid = await new_conversation(client)
        session = ConversationSession(client, cid, max_held=300)
        task = asyncio.create_task(session.run())
        try:
            assert await session.wait_live(20)
            item = await session.submit("[text] hello")
            assert await session.wait_until(lambda: item.id in session.settled, 20)
            first_user = session.timeline.newest_user_message_id
            await _flood(client, cid, 2_000)
            on_server = await client.count_events(cid)
            assert await session.wait_until(lambda: session.received >= on_server, 30)
            assert len(session.timeline) <= 300 + 100 and session.has_older
            assert session.timeline.newest_user_message_id is not None
            assert first_user in session.timeline.user_message_ids("[text] hello")  # dropped, still known
            # Every event is reachable: page older history in until the first one.
            for _ in range(40):
                if not session.has_older:
                    break
                await session.load_older(200)
            ids = [e.id for e in session.timeline]
            assert not session.has_older and len(ids) == len(set(ids)) == on_server
            # Back at the newest: the next events bring the tail back to its bound.
            session.follow_tail()
            assert len(session.timeline) <= 300
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
