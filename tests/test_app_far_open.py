"""A long conversation on a far server: its tail shows as soon as the newest page arrives (older pages still on
their way), and the count the session socket resumes from is asked for together with the server's version."""

from __future__ import annotations

import asyncio
import contextlib

from tests.snapshot_apps.harness import Prefs, wait_for
from tui.client import AgentClient
from tui.config import ServerConfig
from tui.session import Fleet

SIZE = (120, 36)
NEWEST = "Seeded request #749"  # the last request of the 3,000 seeded events


class FarClient(AgentClient):
    """The real client, with the far server's slowness made explicit: older pages of events wait until the test
    lets them go, and the server's version waits (up to a few seconds) for the count to be asked."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.older_pages = asyncio.Event()
        self.count_asked = asyncio.Event()
        self.info_overlapped_count: list[bool] = []
        self.older_asked = 0

    async def server_info(self):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.count_asked.wait(), 3)
        self.info_overlapped_count.append(self.count_asked.is_set())
        return await super().server_info()

    async def count_events(self, cid, **kwargs):
        if not kwargs:
            self.count_asked.set()
        return await super().count_events(cid, **kwargs)

    async def search_events(self, cid, **kwargs):
        if kwargs.get("page_id") and kwargs.get("descending"):
            self.older_asked += 1
            await self.older_pages.wait()
        return await super().search_events(cid, **kwargs)


async def test_long_conversation_on_a_slow_server_shows_its_tail_before_the_older_pages(long_server, tmp_path):
    clients: list[FarClient] = []

    def client_factory(*args, **kwargs) -> FarClient:
        clients.append(FarClient(*args, **kwargs))
        return clients[-1]

    from tui.app.app import OpenHandsApp

    fleet = Fleet(
        [ServerConfig("demo", long_server.base_url, default_model="demo/scripted")],
        state_dir=tmp_path,
        client_factory=client_factory,
        fast_poll=0.3,
        slow_poll=0.5,
    )
    app = OpenHandsApp(fleet, preferences=Prefs())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.fleet_list.highlighted is not None, what="conversation listed")
        await pilot.press("enter")
        log = app.view.log_widget
        client = clients[0]
        await wait_for(pilot, lambda: NEWEST in log.plain_text(), what="the tail shown")
        assert client.older_asked >= 1 and not client.older_pages.is_set()  # the older pages still held back
        assert client.info_overlapped_count == [True]  # one round trip for the version and the count
        client.older_pages.set()
        session = app.session
        await wait_for(pilot, lambda: session.connection.state.value == "live", what="live")
        assert 250 <= len(session.timeline) <= 400 and session.has_older
        assert NEWEST in log.plain_text()
