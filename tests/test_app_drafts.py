"""Text typed but not sent stays with its conversation: opening another never carries it (or sends it) there."""

from __future__ import annotations

from tests.helpers import new_conversation
from tests.snapshot_apps.harness import make_app, wait_for
from tui.client import AgentClient


async def test_an_unsent_draft_stays_with_its_conversation(demo_server, tmp_path):
    async with AgentClient(demo_server.base_url) as client:
        first, second = await new_conversation(client), await new_conversation(client)
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.watchlist.info(("demo", second)) is not None, what="listed")
        await app.open_conversation("demo", first)
        await pilot.press(*"half a thought")
        assert app.view.draft == "half a thought"
        await app.open_conversation("demo", second)
        assert app.view.draft == "", "the draft followed into another conversation"
        await pilot.press("enter")  # nothing to send here
        await app.open_conversation("demo", first)
        assert app.view.draft == "half a thought"
