"""Exactly once, for real: a message caught mid-send is checked against the server (its count of user messages
before the send, the user messages since), not against the loaded tail or the text alone; two windows on one
state directory never overwrite each other's queue (the second is read-only until the first closes); a queue
that cannot be saved is held with the reason and goes out once the disk is back; a damaged or wrong-shaped
queue file is moved aside (numbered, never overwriting an earlier copy) with a notice, never a crash."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.helpers import following, new_conversation, user_texts
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.session import ChangeKind, ConversationSession, OutboxStore

CLIENT = textwrap.dedent("""
    import asyncio, os, signal, sys
    from tui.client import AgentClient
    from tui.session import ConversationSession, OutboxStore

    async def main(base, cid, store_dir, text, kill_at, tail):
        client = AgentClient(base)
        real = client.send_message

        async def send_message(*args, **kwargs):
            if kill_at == "before_post":
                os.kill(os.getpid(), signal.SIGKILL)
            await real(*args, **kwargs)
            if kill_at == "after_post":
                os.kill(os.getpid(), signal.SIGKILL)

        client.send_message = send_message
        session = ConversationSession(
            client, cid, outbox_store=OutboxStore(store_dir), history_tail=int(tail) if tail != "all" else None
        )
        task = asyncio.create_task(session.run())
        assert await session.wait_live(30), session.connection
        print("live", len(session.outbox), len(session.timeline), flush=True)
        if text:
            await session.submit(text)
        ok = await session.wait_until(lambda: not session.outbox, 40)
        print("delivered" if ok else "not delivered", flush=True)
        task.cancel()

    asyncio.run(main(*sys.argv[1:]))
""")


def run_client(tmp_path, base: str, cid: str, text: str, kill_at: str = "none", tail: str = "300") -> tuple[int, str]:
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    proc = subprocess.run(
        [sys.executable, str(script), base, cid, str(tmp_path / "state"), text, kill_at, tail],
        capture_output=True,
        text=True,
        timeout=90,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), os.getcwd()]))),
    )
    return proc.returncode, proc.stdout + proc.stderr


async def count_of(client: AgentClient, cid: str, text: str) -> int:
    return user_texts(await client.all_events(cid)).count(text)


async def flood(client: AgentClient, cid: str, n: int) -> None:
    """Push `n` events after everything there: the earlier messages fall out of a 300-event tail."""
    for _ in range(100):  # a message sent while a turn runs joins that turn: wait for the agent to be idle
        if not (await client.get_conversation(cid)).status.is_busy():
            break
        await asyncio.sleep(0.1)
    before = await client.count_events(cid)
    await client.send_message(cid, f"flood {n}")
    for _ in range(300):
        if await client.count_events(cid) >= before + n and not (await client.get_conversation(cid)).status.is_busy():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the flood did not arrive")


@pytest.mark.timeout(150)
async def test_caught_mid_send_then_300_more_events_is_not_sent_twice(demo_server, tmp_path):
    """High 3: the message reached the server, the client died before recording it, then more than 300 events
    followed: a client that loads only the newest 300 must still know it arrived."""
    text = "[text] sent once, then buried"
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        code, out = await asyncio.to_thread(run_client, tmp_path, demo_server.base_url, cid, text, "after_post")
        assert code == -9, out
        assert await count_of(client, cid, text) == 1
        await flood(client, cid, 400)
        code, out = await asyncio.to_thread(run_client, tmp_path, demo_server.base_url, cid, "")
        assert code == 0 and "delivered" in out, out
        await asyncio.sleep(0.5)
        assert await count_of(client, cid, text) == 1, "delivered twice"


@pytest.mark.timeout(150)
async def test_the_same_text_sent_long_before_does_not_count_as_arrival(demo_server, tmp_path):
    """Low 13: 'continue' was sent long ago (outside the loaded tail when the send began); the client dies
    before its own 'continue' reaches the server; recovering with the whole history loaded, the old one must
    not be mistaken for it."""
    text = "continue"
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        await client.send_message(cid, text)
        await flood(client, cid, 400)
        code, out = await asyncio.to_thread(run_client, tmp_path, demo_server.base_url, cid, text, "before_post")
        assert code == -9, out
        assert await count_of(client, cid, text) == 1
        code, out = await asyncio.to_thread(run_client, tmp_path, demo_server.base_url, cid, "", "none", "all")
        assert code == 0 and "delivered" in out, out
        await asyncio.sleep(0.5)
        assert await count_of(client, cid, text) == 2, "its own message was dropped"


@pytest.mark.timeout(90)
async def test_two_windows_on_one_state_directory_never_double_or_lose_a_message(tmp_path):
    """High 4: the first window holds the lock; the second says so, keeps what is typed in it, sends nothing
    and writes nothing until the first closes, then merges and sends. Each message exactly once."""
    from tui.session.state_lock import lock_state_dir

    state = tmp_path / "state"
    with DemoServer(**dict(FAST_KNOBS, slow_seconds=3.0)) as server:
        async with AgentClient(server.base_url) as client, AgentClient(server.base_url) as client2:
            cid = await new_conversation(client)
            first_lock = lock_state_dir(state)
            second_lock = lock_state_dir(state)
            assert first_lock.held and not second_lock.held
            assert "another openhands-tui" in (second_lock.problem or "")
            store1 = OutboxStore(state / "outbox", lock=first_lock)
            store2 = OutboxStore(state / "outbox", lock=second_lock)
            async with (
                following(client, cid, outbox_store=store1) as one,
                following(client2, cid, outbox_store=store2) as two,
            ):
                await one.submit("[slowbash] keep busy")
                assert await one.wait_until(lambda: one.status.is_busy(), 10)
                await one.submit("[text] from window one")
                await two.submit("[text] from window two")
                on_disk = json.loads(store1.path_for(client.base_url, cid).read_text())
                texts = [i["text"] for i in on_disk["items"]]
                assert "[text] from window one" in texts and "[text] from window two" not in texts
                assert await two.wait_until(lambda: "another openhands-tui" in (two.hold or ""), 5), two.hold
                assert await one.wait_until(lambda: not one.outbox, 30)
                await asyncio.sleep(1.0)
                assert await count_of(client, cid, "[text] from window two") == 0, "the read-only window sent"
                assert len(two.outbox) == 1
                first_lock.release()  # the first window closes
                assert await two.wait_until(lambda: not two.outbox, 30), (two.hold, two.outbox.items)
            await asyncio.sleep(0.5)
            assert await count_of(client, cid, "[text] from window one") == 1
            assert await count_of(client, cid, "[text] from window two") == 1
            second_lock.release()


@pytest.mark.timeout(60)
async def test_a_full_disk_holds_the_queue_with_the_reason_and_recovers(demo_server, tmp_path):
    """Medium 5: nothing is sent while it cannot be saved (it could not be checked after a crash); the reason
    is shown; once the disk is back it goes out, once."""
    text = "[text] written once the disk is back"
    store = OutboxStore(tmp_path / "state")
    real_write = store._write

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        async with following(client, cid, outbox_store=store) as session:
            store._write = full  # type: ignore[method-assign]
            item = await session.submit(text)  # never raises: the words are kept
            assert session.outbox.items == [item]
            assert await session.wait_until(lambda: "No space left" in (session.hold or ""), 5), session.hold
            await asyncio.sleep(1.5)
            assert await count_of(client, cid, text) == 0, "sent although it could not be saved"
            store._write = real_write  # type: ignore[method-assign]
            assert await session.wait_until(lambda: not session.outbox, 20), session.hold
            assert session.hold is None
        await asyncio.sleep(0.5)
        assert await count_of(client, cid, text) == 1


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2, 3]",
        '{"items": {"text": "x"}}',
        '{"items": [{"text": 5}]}',
        '"just a string"',
        "{" * 300,
        "[" * 255 + "]" * 255,
    ],
    ids=["a list", "items not a list", "an item of the wrong shape", "a string", "not JSON", "nested 255 deep"],
)
def test_a_wrong_shaped_queue_file_is_moved_aside_numbered_never_a_crash(tmp_path, content):
    """Medium 7, Low 19: valid JSON of the wrong shape is set aside with a notice; a second damaged file gets
    its own numbered copy, the first one is kept."""
    store = OutboxStore(tmp_path)
    path = store.path_for("http://h:1", "c1")
    path.write_text(content)
    assert store.load("http://h:1", "c1") == []
    first = path.with_name(path.stem + ".damaged")
    assert first.read_text() == content
    path.write_text(content + " ")
    assert store.load("http://h:1", "c1") == []
    assert first.read_text() == content, "the first damaged copy was overwritten"
    assert path.with_name(path.stem + ".damaged.2").read_text() == content + " "
    assert len(store.notices) == 2 and "moved aside" in store.notices[0]


async def test_a_damaged_queue_file_is_told_on_opening(demo_server, tmp_path):
    async with AgentClient(demo_server.base_url) as client:
        cid = await new_conversation(client)
        store = OutboxStore(tmp_path / "state")
        path = store.path_for(client.base_url, cid)
        path.parent.mkdir(parents=True)
        path.write_text('{"items": [{"text": 5}]}')
        session = ConversationSession(client, cid, outbox_store=store)
        notices: list[str] = []
        session.subscribe(lambda ch: notices.append(ch.message) if ch.kind is ChangeKind.NOTICE else None)
        task = asyncio.create_task(session.run())
        try:
            assert await session.wait_live(15)
            await session.submit("[text] after the damage")
            assert await session.wait_until(lambda: not session.outbox, 20)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert any("moved aside" in n for n in notices), notices


def test_conversation_ids_never_escape_the_state_directory(tmp_path):
    """Low 18: an id from the server is only part of a file name when it is a plain id."""
    store = OutboxStore(tmp_path / "outbox")
    for cid in ["../../etc/passwd", "a/b", "..", ".hidden", "x\x00y", "c:\\evil", "a" * 500]:
        path = store.path_for("http://h:1", cid)
        assert path.parent == tmp_path / "outbox", cid
        assert "/" not in path.name and ".." not in path.name and len(path.name) < 100
    assert store.path_for("http://h:1", "3f2b8a8e5a1d4c4e").name.endswith("-3f2b8a8e5a1d4c4e.json")
