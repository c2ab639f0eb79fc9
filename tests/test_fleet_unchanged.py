"""A poll keeps what did not change: the conversation held before stays (the UI's rows and the sessions see the
same object), and a conversation that changed is replaced by what the server says now."""

from __future__ import annotations

from tests.helpers import new_conversation
from tui.config import ServerConfig
from tui.demo.server import DemoServer
from tui.session import Fleet


async def test_a_poll_keeps_the_unchanged_conversations_and_replaces_the_changed_one():
    with DemoServer() as srv:
        fleet = Fleet([ServerConfig("demo", srv.base_url)])
        try:
            client = fleet.client("demo")
            still = await new_conversation(client)
            renamed = await new_conversation(client)
            await fleet.refresh()
            held = dict(fleet.entry("demo").conversations)
            await client.rename_conversation(renamed, "A new title")
            await fleet.refresh()
            now = fleet.entry("demo").conversations
            assert now[still] is held[still]
            assert now[renamed] is not held[renamed] and now[renamed].title == "A new title"
            await fleet.refresh()
            assert fleet.entry("demo").conversations[renamed] is now[renamed]
        finally:
            await fleet.aclose()
