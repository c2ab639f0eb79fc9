"""Create, rename, delete and count through the Fleet (what the app and the headless verbs both use)."""

from __future__ import annotations

from tests.fixtures_demo import FAST_KNOBS
from tui.client import AgentClient
from tui.config import ServerConfig
from tui.demo.server import DemoServer
from tui.protocol import StartConversationRequest
from tui.session import Fleet, FleetChange


def request() -> StartConversationRequest:
    return StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/openhands-tui-fleet")


async def test_create_rename_delete_count():
    with DemoServer(**FAST_KNOBS) as srv:
        fleet = Fleet([ServerConfig("demo", srv.base_url)])
        changes: list[FleetChange] = []
        fleet.subscribe(changes.append)
        try:
            info = await fleet.create("demo", request())
            # Listed at once, before any poll.
            assert info.id in fleet.entry("demo").conversations
            assert changes[-1].added == (info.id,)
            assert await fleet.count_events("demo", info.id) >= 0

            session = fleet.session("demo", info.id)
            await fleet.rename("demo", info.id, "A new name")
            assert session.info is not None and session.info.title == "A new name"  # the session refetched it
            async with AgentClient(srv.base_url) as other:
                assert (await other.get_conversation(info.id)).title == "A new name"

            await fleet.delete("demo", info.id)
            assert info.id not in fleet.entry("demo").conversations and ("demo", info.id) not in fleet.sessions
            assert changes[-1].removed == (info.id,)
            async with AgentClient(srv.base_url) as other:
                assert info.id not in {i.id for i in await other.search_conversations()}
        finally:
            await fleet.aclose()


async def test_a_fleet_over_an_existing_client_uses_it():
    with DemoServer(**FAST_KNOBS) as srv:
        async with AgentClient(srv.base_url) as client:
            fleet = Fleet.over(ServerConfig("demo", srv.base_url), client)
            assert fleet.client("demo") is client
            info = await fleet.create("demo", request())
            assert info.id in {i.id for i in await client.search_conversations()}
