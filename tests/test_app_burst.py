"""A message is sent exactly as typed: keys arriving in one burst (typeahead, SSH, tmux, a paste) never move text
from one message to the next. The server's history must equal what was typed, each message once."""

from __future__ import annotations

import pytest

from tests.helpers import user_texts
from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.client import AgentClient

SIZE = (120, 36)


def keys_for(text: str) -> list[str]:
    return ["space" if char == " " else char for char in text]


async def server_user_texts(url: str, cid: str) -> list[str]:
    async with AgentClient(url) as client:
        return user_texts(await client.all_events(cid))


@pytest.mark.timeout(420)  # fifty turns, one after another, on a loaded machine
async def test_fifty_messages_typed_in_one_burst_arrive_as_typed(demo_server, tmp_path):
    messages = [f"m{n:02d} text burst {'x' * (n % 7)}" for n in range(50)]
    plain = [m for n, m in enumerate(messages) if n % 5 != 4]
    keys: list[str] = []
    for n, message in enumerate(messages):
        keys += keys_for(message)
        keys.append("ctrl+s" if n % 5 == 4 else "enter")  # every fifth one is stop & send
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        app.view.input.focus()
        await pilot.pause()
        await pilot.press(*keys)  # one call: no pause between the keys
        assert app.view.input.text == ""

        async def arrived() -> list[str]:
            return await server_user_texts(demo_server.base_url, cid)

        deadline = 300.0
        seen: list[str] = []

        async def all_there() -> bool:
            nonlocal seen
            seen = await arrived()
            return len(seen) >= len(messages)

        import time

        end = time.monotonic() + deadline
        while not await all_there():
            assert time.monotonic() < end, f"only {len(seen)} of {len(messages)} arrived: {seen[-3:]}"
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: not app.session.outbox.items, timeout=30, what="queue drained")
        seen = await arrived()
        # Each message once, none merged with or split from another.
        assert sorted(seen) == sorted(messages)
        # Enter queues in order; stop & send jumps the queue by design, so the plain ones keep their order.
        assert [m for m in seen if m in plain] == plain
        # The box's history holds each message as typed, in the order they were typed.
        assert app.view.input.sent_history == messages
