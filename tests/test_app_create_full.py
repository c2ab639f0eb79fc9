"""A server at its run limit (1.58: 429, nothing created) gets the create again, with the same id, once it has
room; the person is told it waits."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import new_conversation
from tests.snapshot_apps.harness import make_app, wait_for
from tui.app.screens.dialogs import NewConversation
from tui.app.textual_private import notifications
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.protocol import ExecutionStatus


@pytest.fixture
def one_slot():
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 3.0}, max_runs=1) as srv:
        yield srv


async def test_a_create_refused_by_a_full_server_is_made_when_a_slot_frees(one_slot, tmp_path):
    async with AgentClient(one_slot.base_url) as client:
        busy = await new_conversation(client)
        await client.send_message(busy, "[slow] hold the only run slot")
        app = make_app(one_slot.base_url, tmp_path)
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            spec = NewConversation(
                server="demo",
                model="demo/scripted",
                base_url=None,
                api_key_env=None,
                api_key=None,
                working_dir="/workspace/demo",
                confirm=False,
                first_message="",
            )
            task = asyncio.create_task(app.create_conversation(spec))
            await wait_for(pilot, lambda: any("is full" in str(n.message) for n in notifications(app)), what="told")
            assert not task.done(), "the create gave up on a full server"
            await asyncio.wait_for(task, 30)
            assert app.current is not None and app.current[1] != busy
            infos = await client.search_conversations()
            assert len([i for i in infos if i.id == app.current[1]]) == 1, "created once"
            assert (await client.get_conversation(busy)).status is not ExecutionStatus.ERROR
