"""A queued message survives a killed client and a dropped connection during its send: delivered exactly once
(the count of that user message in the server's history is 1).

The client is a small script (a ConversationSession with an OutboxStore, what the app runs) in a subprocess,
killed with SIGKILL right before its POST, right after it (the server has the message, the client never
recorded it), while the message waits in the queue behind a running turn, and at random moments. A second run
of the script on the same state directory recovers. The dropped connection is a proxy that delivers the POST
to the server and cuts the connection before the answer comes back.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import textwrap
import time

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import following, new_conversation, user_texts
from tests.proxy import CuttingProxy
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.session import OutboxStore

CLIENT = textwrap.dedent("""
    import asyncio, os, signal, sys
    from tui.client import AgentClient
    from tui.session import ConversationSession, OutboxStore

    async def main(base, cid, store_dir, text, kill_at):
        client = AgentClient(base)
        real = client.send_message

        async def send_message(*args, **kwargs):
            if kill_at == "before_post":
                os.kill(os.getpid(), signal.SIGKILL)
            await real(*args, **kwargs)
            if kill_at == "after_post":
                os.kill(os.getpid(), signal.SIGKILL)

        client.send_message = send_message
        session = ConversationSession(client, cid, outbox_store=OutboxStore(store_dir))
        task = asyncio.create_task(session.run())
        assert await session.wait_live(20), session.connection
        print("live", len(session.outbox), flush=True)
        if text:
            await session.submit(text)
            print("submitted", flush=True)
        ok = await session.wait_until(lambda: not session.outbox, 40)
        print("delivered" if ok else "not delivered", flush=True)
        task.cancel()

    asyncio.run(main(*sys.argv[1:]))
""")


def run_client(
    tmp_path, base: str, cid: str, text: str, kill_at: str = "none", *, kill_after: float | None = None
) -> tuple[int, str]:
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    proc = subprocess.Popen(
        [sys.executable, str(script), base, cid, str(tmp_path / "state"), text, kill_at],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )
    try:
        out, _ = proc.communicate(timeout=kill_after if kill_after is not None else 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out


async def count_of(client: AgentClient, cid: str, text: str) -> int:
    return user_texts(await client.all_events(cid)).count(text)


async def in_thread(fn, *args, **kwargs):
    return await asyncio.to_thread(fn, *args, **kwargs)


@pytest.mark.parametrize("kill_at", ["before_post", "after_post"])
@pytest.mark.timeout(60)
async def test_killed_around_the_post_then_recovered_delivers_once(demo_server, tmp_path, kill_at):
    text = f"[text] survive {kill_at}"
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        code, out = await in_thread(run_client, tmp_path, demo_server.base_url, cid, text, kill_at)
        assert code == -9, out  # SIGKILL, at the chosen moment
        items = OutboxStore(tmp_path / "state").load(client.base_url, cid)
        assert [i.text for i in items] == [text] and items[0].state == "sending"  # persisted before the POST
        assert await count_of(client, cid, text) == (1 if kill_at == "after_post" else 0)
        code, out = await in_thread(run_client, tmp_path, demo_server.base_url, cid, "")
        assert code == 0 and "delivered" in out, out
        await asyncio.sleep(0.5)  # a second send would have landed by now
        assert await count_of(client, cid, text) == 1
        assert OutboxStore(tmp_path / "state").load(client.base_url, cid) == []


@pytest.mark.timeout(60)
async def test_killed_while_queued_behind_a_running_turn(tmp_path):
    text = "[text] queued then killed"
    with DemoServer(**dict(FAST_KNOBS, slow_seconds=6.0)) as demo_server:
        async with AgentClient(demo_server.base_url) as client:
            cid = await new_conversation(client)
            async with following(client, cid) as session:
                await session.submit("[slowbash] keep the agent busy")
                assert await session.wait_until(lambda: session.status.is_busy(), 10)
                # The client queues (the agent is busy) and is killed 2.5 s later, the message still queued.
                code, out = await in_thread(run_client, tmp_path, demo_server.base_url, cid, text, kill_after=2.5)
                assert "submitted" in out and "delivered" not in out, out
                items = OutboxStore(tmp_path / "state").load(client.base_url, cid)
                assert [(i.text, str(i.state)) for i in items] == [(text, "queued")]
                assert await count_of(client, cid, text) == 0
                code, out = await in_thread(run_client, tmp_path, demo_server.base_url, cid, "")
                assert code == 0 and "delivered" in out, out
                await asyncio.sleep(0.5)
                assert await count_of(client, cid, text) == 1


@pytest.mark.timeout(90)
async def test_killed_at_random_moments_never_duplicates(demo_server, tmp_path):
    rng = random.Random(5)
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        for n in range(4):
            text = f"[text] random kill {n}"
            state = tmp_path / f"r{n}"
            state.mkdir()
            await in_thread(run_client, state, demo_server.base_url, cid, text, kill_after=rng.uniform(0.5, 1.6))
            persisted = OutboxStore(state / "state").load(client.base_url, cid)
            reached = await count_of(client, cid, text)
            assert reached <= 1
            code, out = await in_thread(run_client, state, demo_server.base_url, cid, "")
            assert code == 0 and "delivered" in out, out
            await asyncio.sleep(0.3)
            want = 1 if (persisted or reached) else 0  # killed before the message was accepted: nothing to send
            assert await count_of(client, cid, text) == want, (n, persisted, reached)


@pytest.mark.timeout(60)
async def test_connection_dropped_during_the_send_delivers_once(demo_server, tmp_path):
    """The POST reaches the server, the answer is lost: the client must not send it again."""
    text = "[text] the answer to this POST is lost"
    proxy = await CuttingProxy("127.0.0.1", demo_server.port).start()
    try:
        async with AgentClient(proxy.base_url) as client, AgentClient(demo_server.base_url) as direct:
            cid = await new_conversation(direct)
            async with following(client, cid, outbox_store=OutboxStore(tmp_path / "state")) as session:
                notices: list[str] = []
                session.subscribe(lambda ch: notices.append(ch.message) if ch.message else None)
                await client.get_conversation(cid)  # a pooled keep-alive connection, as in a long session
                proxy.arm(b"POST ", f"/api/conversations/{cid}/events".encode())
                await session.submit(text)
                await asyncio.wait_for(proxy.cut_event.wait(), 10)
                assert await session.wait_until(lambda: not session.outbox, 30), session.outbox.items
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    assert await count_of(direct, cid, text) <= 1, "the message was sent twice"
                assert await count_of(direct, cid, text) == 1
                assert OutboxStore(tmp_path / "state").load(client.base_url, cid) == []
    finally:
        await proxy.stop()
