"""The conversation session against the embedded server over real loopback sockets."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import following, new_conversation, user_texts
from tests.proxy import DroppingProxy
from tui.client import AgentClient
from tui.demo.server import DemoServer
from tui.protocol import ExecutionStatus, InterruptEvent, MessageEvent
from tui.session import ChangeKind, ConnectionState, ItemState, OutboxStore


@pytest.fixture
def server():
    with DemoServer(slow_seconds=1.5, token_rate=400) as srv:
        yield srv


@pytest.fixture
async def client(server):
    async with AgentClient(server.base_url) as c:
        yield c


async def history_ids(client, cid) -> list[str]:
    return [e.id for e in await client.all_events(cid)]


async def test_full_turn_is_followed_to_its_end(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        kinds = []
        session.subscribe(lambda c: kinds.append(c.kind))
        item = await session.submit("[bash] run echo hello then finish")
        await session.wait_until(lambda: item.id in session.settled, 15)
        assert session.settled[item.id] is ExecutionStatus.FINISHED
        assert session.status is ExecutionStatus.FINISHED
        assert not session.turn.active and not session.outbox
        assert session.usage.cost > 0 and session.usage.total_tokens > 0
        ids = [e.id for e in session.timeline]
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(await history_ids(client, cid))
        assert "ActionEvent" in {e.kind for e in session.timeline}
        assert not session.tokens.active


async def test_streamed_reply_is_buffered_then_handed_to_the_log(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        seen = []
        session.subscribe(lambda c: seen.append(session.tokens.content) if c.kind is ChangeKind.TOKENS else None)
        item = await session.submit("[text] say hello")
        await session.wait_until(lambda: item.id in session.settled, 15)
        final = [e.text for e in session.timeline if isinstance(e, MessageEvent) and e.source == "agent"][-1]
        assert any(seen) and max(seen, key=len) == final  # the buffer grew to the final text
        assert not session.tokens.active and not session.tokens.orphans


async def test_socket_cut_mid_turn_loses_nothing_and_shows_reconnecting(server, client):
    proxy = await DroppingProxy("127.0.0.1", server.port).start()
    try:
        async with AgentClient(proxy.base_url) as via_proxy:
            cid = await new_conversation(client)
            async with following(via_proxy, cid) as session:
                states = []
                session.subscribe(lambda c: states.append(session.connection.state))
                item = await session.submit("[slowbash] run the slow command")
                await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING, 10)
                for _ in range(3):
                    await asyncio.sleep(0.3)
                    proxy.drop_all()
                await session.wait_until(lambda: item.id in session.settled, 30)
                assert ConnectionState.RECONNECTING in states and ConnectionState.RESYNCING in states
                await session.wait_live(15)
                ids = [e.id for e in session.timeline]
                assert len(ids) == len(set(ids))
                assert sorted(ids) == sorted(await history_ids(client, cid))
    finally:
        await proxy.stop()


async def test_message_sent_while_busy_is_queued_then_delivered_and_answered(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        first = await session.submit("[slow] first, slow")
        await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING, 10)
        second = await session.submit("[text] second, typed while busy")
        assert session.outbox.get(second.id) is not None
        assert session.outbox.get(second.id).state is ItemState.QUEUED
        # Not on the server while the first turn runs.
        assert "[text] second, typed while busy" not in user_texts(await client.all_events(cid))
        await session.wait_until(lambda: second.id in session.settled, 20)
        assert session.settled[first.id] is ExecutionStatus.FINISHED
        assert session.settled[second.id] is ExecutionStatus.FINISHED
    events = await client.all_events(cid)
    assert user_texts(events) == ["[slow] first, slow", "[text] second, typed while busy"]
    second_at = next(i for i, e in enumerate(events) if isinstance(e, MessageEvent) and "second" in e.text)
    assert any(isinstance(e, MessageEvent) and e.source == "agent" for e in events[second_at + 1 :]), (
        "the queued message was answered"
    )


async def test_interrupt_then_send(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        statuses = []
        session.subscribe(lambda c: statuses.append(session.status) if c.kind is ChangeKind.STATUS else None)
        await session.submit("[slow] a long answer I will cut off")
        await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING, 10)
        instead = await session.submit("[text] do this instead", interrupt=True)
        await session.wait_until(lambda: instead.id in session.settled, 20)
        assert ExecutionStatus.PAUSED in statuses
        assert session.settled[instead.id] is ExecutionStatus.FINISHED
    events = await client.all_events(cid)
    kinds = [e.kind for e in events]
    interrupt_at = kinds.index("InterruptEvent")
    instead_at = next(i for i, e in enumerate(events) if isinstance(e, MessageEvent) and "instead" in e.text)
    assert interrupt_at < instead_at
    assert user_texts(events).count("[text] do this instead") == 1


async def test_interrupt_only_keeps_the_queue_and_holds_it(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        await session.submit("[slow] something slow")
        await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING, 10)
        queued = await session.submit("[text] later")
        await session.interrupt()
        assert session.turn.interrupting or session.status is ExecutionStatus.PAUSED
        await session.wait_until(lambda: session.status is ExecutionStatus.PAUSED and not session.turn.active, 10)
        await asyncio.sleep(0.5)
        assert session.outbox.get(queued.id) is not None, "interrupt never clears the queue"
        assert session.hold and "interrupt" in session.hold
        await session.resume()
        await session.wait_until(lambda: queued.id in session.settled, 15)
    assert any(isinstance(e, InterruptEvent) for e in await client.all_events(cid))


async def test_queued_message_survives_a_client_restart_and_is_delivered_once(client, tmp_path):
    store = OutboxStore(tmp_path)
    cid = await new_conversation(client)
    async with following(client, cid, outbox_store=store) as session:
        first = await session.submit("[slow] first")
        await session.wait_until(
            lambda: session.status is ExecutionStatus.RUNNING and session.outbox.get(first.id) is None, 10
        )
        await session.submit("[text] queued across a restart")
    # The first client is gone (its worker cancelled) with the message still queued on disk.
    assert [i.text for i in store.load(client.base_url, cid)] == ["[text] queued across a restart"]
    async with following(client, cid, outbox_store=store) as session:
        await session.wait_until(
            lambda: not session.outbox and not session.turn.active and session.status is ExecutionStatus.FINISHED, 20
        )
    texts = user_texts(await client.all_events(cid))
    assert texts.count("[text] queued across a restart") == 1
    assert store.load(client.base_url, cid) == []


async def test_uncertain_send_is_not_repeated_when_the_server_already_has_it(client, tmp_path):
    store = OutboxStore(tmp_path)
    cid = await new_conversation(client)
    # A previous client persisted "sending" and died after the server took the message.
    from tui.session import Outbox

    outbox = Outbox(store, client.base_url, cid)
    item = outbox.add("[text] sent just before a crash")
    outbox.begin_send(item, known_ids=[])
    await client.send_message(cid, "[text] sent just before a crash")
    async with following(client, cid, outbox_store=store) as session:
        await session.wait_until(lambda: not session.outbox, 10)
        await asyncio.sleep(0.5)
    assert user_texts(await client.all_events(cid)).count("[text] sent just before a crash") == 1


async def test_uncertain_send_that_never_arrived_is_sent(client, tmp_path):
    store = OutboxStore(tmp_path)
    cid = await new_conversation(client)
    from tui.session import Outbox

    outbox = Outbox(store, client.base_url, cid)
    outbox.begin_send(outbox.add("[text] lost in flight"), known_ids=[])
    async with following(client, cid, outbox_store=store) as session:
        await session.wait_until(lambda: not session.outbox and session.status is ExecutionStatus.FINISHED, 15)
    assert user_texts(await client.all_events(cid)).count("[text] lost in flight") == 1


async def test_deleted_conversation_stops_the_session_with_a_reason(client):
    from tui.session import ConversationSession

    cid = await new_conversation(client)
    await client.delete_conversation(cid)
    session = ConversationSession(client, cid)
    task = asyncio.create_task(session.run())
    await session.wait_until(lambda: session.connection.state is ConnectionState.STOPPED, 15)
    assert "not found" in session.connection.reason.lower() or "deleted" in session.connection.reason.lower()
    await asyncio.wait_for(task, 5)


async def test_wrong_key_stops_with_unauthorized():
    with DemoServer(session_keys=["right-key"]) as srv:
        async with AgentClient(srv.base_url, "wrong-key") as bad, AgentClient(srv.base_url, "right-key") as good:
            cid = await new_conversation(good)
            from tui.session import ConversationSession

            session = ConversationSession(bad, cid)
            task = asyncio.create_task(session.run())
            await session.wait_until(lambda: session.connection.state is ConnectionState.STOPPED, 15)
            assert "key" in session.connection.reason.lower()
            assert "wrong-key" not in session.connection.reason
            await asyncio.wait_for(task, 5)


async def test_long_history_opens_with_the_tail_and_pages_older_on_demand():
    with DemoServer(seed_conversations=1, seed_history=1500) as srv:
        async with AgentClient(srv.base_url) as client:
            cid = (await client.search_conversations())[0].id
            total = await client.count_events(cid)
            assert total >= 1500
            async with following(client, cid, history_tail=150) as session:
                assert 150 <= len(session.timeline) < 300 and session.has_older
                newest = (await client.search_events(cid, descending=True, limit=1))[0][0]
                assert session.timeline[-1].id == newest.id  # the tail is what is held
                while session.has_older:
                    assert await session.load_older(500) > 0
                assert len(session.timeline) == total
                ids = [e.id for e in session.timeline]
                assert sorted(ids) == sorted(e.id for e in await client.all_events(cid))


async def test_session_opened_mid_run_sees_the_turn_end_and_then_sends_at_once(client):
    cid = await new_conversation(client)
    await client.send_message(cid, "[slow] started by someone else")
    await asyncio.sleep(0.3)
    async with following(client, cid) as session:
        await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING or session.turn.active, 5)
        await session.wait_until(lambda: not session.turn.active, 15)
        assert session.status is ExecutionStatus.FINISHED
        item = await session.submit("[text] and now mine")
        await session.wait_until(lambda: item.id in session.settled, 10)
        assert session.settled[item.id] is ExecutionStatus.FINISHED


async def test_interrupt_then_send_is_not_ended_by_the_late_paused_snapshot(client):
    cid = await new_conversation(client)
    async with following(client, cid) as session:
        await session.submit("[slow] long one")
        await session.wait_until(lambda: session.status is ExecutionStatus.RUNNING, 10)
        item = await session.submit("markdown please, instead", interrupt=True)
        await session.wait_until(lambda: item.id in session.settled, 20)
        assert session.settled[item.id] is ExecutionStatus.FINISHED
        # The new reply's streamed text was handed to the log, not orphaned as "paused".
        assert all(o.reason == "interrupted" for o in session.tokens.orphans)


async def test_after_approving_the_turn_ends_and_the_next_message_is_sent(client):
    cid = await new_conversation(client, confirm=True)
    async with following(client, cid) as session:
        item = await session.submit("[bash] needs confirmation")
        await session.wait_until(lambda: item.id in session.settled, 10)
        assert session.settled[item.id] is ExecutionStatus.WAITING_FOR_CONFIRMATION
        assert session.pending_actions()
        await session.approve()
        await session.wait_until(lambda: session.status is ExecutionStatus.FINISHED and not session.turn.active, 10)
        nxt = await session.submit("[text] next")
        await session.wait_until(lambda: nxt.id in session.settled, 10)
        assert session.settled.get(nxt.id) is ExecutionStatus.FINISHED


@pytest.mark.parametrize("protocol", ["events", "session"])
async def test_a_pause_during_the_llm_call_does_not_cut_off_the_reply_that_keeps_streaming(client, protocol):
    cid = await new_conversation(client)
    async with following(client, cid, protocol=protocol) as session:
        item = await session.submit("[slow] a reply I pause in the middle of")
        await session.wait_until(lambda: len(session.tokens.content) > 10, 10)
        await session.pause()
        await session.wait_until(lambda: session.status is ExecutionStatus.PAUSED, 10)
        await session.wait_until(
            lambda: any(isinstance(e, MessageEvent) and e.source == "agent" for e in session.timeline), 15
        )
        await session.wait_until(lambda: item.id in session.settled and not session.tokens.active, 10)
        assert not session.tokens.orphans, "the reply landed whole: nothing is marked cut off"
        assert session.hold and "paused" in session.hold
