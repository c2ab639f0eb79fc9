"""ctrl+o steers: the text goes into the running turn (1.58 answers it in the same run), nothing is interrupted
and nothing waits in the queue; on a server that would not answer it, the message is queued as usual."""

from __future__ import annotations

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import user_texts
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.protocol import ExecutionStatus


@pytest.fixture
def slow_server():
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 3.0}) as srv:
        yield srv


async def test_ctrl_o_sends_into_the_running_turn_without_stopping_it(slow_server, tmp_path):
    app = make_app(slow_server.base_url, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        cid = await create(pilot, app, "[slow] think it over")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.RUNNING and session.can_steer, what="busy")
        assert app.applies("steer")
        await pilot.press(*"also mention the tests", "ctrl+o")
        async with AgentClient(slow_server.base_url) as client:
            await wait_for(pilot, lambda: True, timeout=0.1)
            for _ in range(100):
                texts = user_texts(await client.all_events(cid))
                if "also mention the tests" in texts:
                    break
                await pilot.pause(0.05)
            assert "also mention the tests" in texts, "the steer was not sent while the turn ran"
        assert session.status is ExecutionStatus.RUNNING and not session.turn.interrupting, "it interrupted"
        assert not session.outbox.items, "the steered message waited in the queue"
        await wait_for(pilot, lambda: session.status is ExecutionStatus.FINISHED, what="the same run ends")
        async with AgentClient(slow_server.base_url) as client:
            assert user_texts(await client.all_events(cid)).count("also mention the tests") == 1
