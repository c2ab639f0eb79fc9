"""Several servers at once: each keeps its own state, none is fatal to the others."""

from __future__ import annotations

import asyncio

from tests.helpers import new_conversation
from tui.config import ServerConfig
from tui.demo.server import DemoServer
from tui.protocol import ExecutionStatus
from tui.session import Fleet, ServerState


async def test_each_server_keeps_its_own_state():
    with (
        DemoServer() as ok,
        DemoServer(session_keys=["right"]) as keyed,
        DemoServer(deferred_init=True, init_key="ik") as dormant,
    ):
        fleet = Fleet(
            [
                ServerConfig("ok", ok.base_url),
                ServerConfig("keyed", keyed.base_url, session_key="k-9f8e7d6c"),
                ServerConfig("dormant", dormant.base_url),
                ServerConfig("gone", "http://127.0.0.1:9"),
            ]
        )
        try:
            cid = await new_conversation(fleet.client("ok"))
            await fleet.refresh()
            states = {e.name: e.state for e in fleet.servers}
            assert states == {
                "ok": ServerState.OK,
                "keyed": ServerState.UNAUTHORIZED,
                "dormant": ServerState.DORMANT,
                "gone": ServerState.UNREACHABLE,
            }
            assert cid in fleet.entry("ok").conversations
            assert "init" in fleet.entry("dormant").message
            assert "k-9f8e7d6c" not in fleet.entry("keyed").message
            assert fleet.entry("gone").retry_at is not None
        finally:
            await fleet.aclose()


async def test_polling_reports_new_changed_and_removed_conversations():
    with DemoServer(slow_seconds=0.5) as srv:
        fleet = Fleet([ServerConfig("demo", srv.base_url)], fast_poll=0.2, slow_poll=0.3)
        changes = []
        fleet.subscribe(changes.append)
        runner = asyncio.create_task(fleet.run())
        try:
            client = fleet.client("demo")
            cid = await new_conversation(client)
            await _until(lambda: any(cid in c.added for c in changes))
            await client.send_message(cid, "[text] hi")
            await _until(lambda: fleet.entry("demo").conversations[cid].status is ExecutionStatus.FINISHED, 10)
            assert any(cid in c.changed for c in changes)
            await client.delete_conversation(cid)
            await _until(lambda: any(cid in c.removed for c in changes))
            assert fleet.counts() == {}
        finally:
            runner.cancel()
            await fleet.aclose()


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def test_a_poll_that_began_before_a_create_does_not_report_it_removed():
    with DemoServer() as srv:
        fleet = Fleet([ServerConfig("demo", srv.base_url)])
        changes = []
        fleet.subscribe(changes.append)
        try:
            client = fleet.client("demo")
            await fleet.refresh()
            real_search = client.search_conversations
            gate = asyncio.Event()

            async def slow_search(**kwargs):
                result = await real_search(**kwargs)  # the list as it was when the poll began...
                await gate.wait()  # ...arrives after the conversation was created
                return result

            client.search_conversations = slow_search
            poll = asyncio.create_task(fleet.refresh())
            await asyncio.sleep(0.2)
            cid = await new_conversation(client)
            fleet.add_local("demo", await client.get_conversation(cid))
            gate.set()
            await poll
            assert cid in fleet.entry("demo").conversations
            assert not any(cid in c.removed for c in changes)
            client.search_conversations = real_search
            await fleet.refresh()
            assert cid in fleet.entry("demo").conversations and not fleet.entry("demo").added_at
        finally:
            await fleet.aclose()
