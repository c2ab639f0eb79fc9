"""The session socket (agent server ≥ 1.46): the client stream and the session on it, against a fake server that
replays the frames a real 1.58.2 server sent (`tests/data/turns/session_socket-1.58-session_full.jsonl`) and
misbehaves on demand, with drops through the tests' proxy."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from tests.fake_session_server import FakeSessionServer, recorded
from tests.helpers import eventually
from tests.proxy import DroppingProxy
from tui.client import AgentClient, Connected, Disconnected, Oversized, SessionStream, Stopped, Unauthorized
from tui.protocol import DurableFrame, ExecutionStatus, MessageEvent, SyncFrame, TransientFrame
from tui.session import ConnectionState, ConversationSession, CursorStore, ItemState, OutboxStore
from tui.session import conversation as conversation_module
from tui.session.conversation import Protocol

RECORDING = "session_socket-1.58-session_full"
FRAMES = recorded(RECORDING)  # sync, durable 0-11, transient, then four live turns
HISTORY = 11  # the last seq stored before the socket connected
TURN_D = FRAMES[14:43]  # a streamed text turn: item 61c8314e… closed by the agent MessageEvent with that id
TURN_D2 = FRAMES[43:63]  # text streamed, then a finish ActionEvent with the item's id
TURN_G = FRAMES[112:125]  # /interrupt mid-stream: item_aborted "cancelled", paused, InterruptEvent


def fast(stream: SessionStream) -> SessionStream:
    stream.initial_backoff = 0.05
    stream.max_backoff = 0.2
    return stream


async def collect(stream: SessionStream, until, timeout: float = 10.0) -> list:
    items: list = []

    async def run() -> None:
        async for item in stream:
            items.append(item)
            if until(items):
                return

    await asyncio.wait_for(run(), timeout)
    return items


def durable_seqs(items) -> list[int]:
    return [i.seq for i in items if isinstance(i, DurableFrame)]


# ---------------------------------------------------------------------------------------------- the stream


async def test_replay_comes_first_then_the_snapshot_and_the_key_only_in_the_first_frame():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY, key="sekrit") as server:
        stream = SessionStream(server.url, server.cid, "sekrit", after_seq=-1)
        items = await collect(stream, lambda items: isinstance(items[-1], TransientFrame))
        await stream.close()
    assert isinstance(items[0], Connected) and isinstance(items[1], SyncFrame)
    assert (items[1].from_seq, items[1].through_seq) == (-1, HISTORY)
    assert durable_seqs(items) == list(range(HISTORY + 1))
    assert server.paths == [f"/sockets/session/{server.cid}?after_seq=-1"]
    assert server.first_frames == [{"type": "auth", "session_api_key": "sekrit"}]
    assert stream.last_seq == HISTORY


async def test_a_drop_resumes_after_the_last_seq_held_without_loss_or_repeat():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        proxy = await DroppingProxy("127.0.0.1", server.port).start()
        try:
            stream = fast(SessionStream(proxy.base_url, server.cid, after_seq=-1))
            items: list = []

            async def read() -> None:
                async for item in stream:
                    items.append(item)

            reader = asyncio.create_task(read())
            await eventually(lambda: len(durable_seqs(items)) == HISTORY + 1)
            proxy.drop_all()
            await eventually(lambda: sum(isinstance(i, Connected) for i in items) == 2)
            await server.play(TURN_D)
            await eventually(lambda: durable_seqs(items)[-1:] == [18])
            await stream.close()
            reader.cancel()
        finally:
            await proxy.stop()
    assert durable_seqs(items) == list(range(19))
    assert any(isinstance(i, Disconnected) for i in items)
    assert server.paths[1] == f"/sockets/session/{server.cid}?after_seq={HISTORY}"


async def test_a_slow_consumer_close_resumes_where_it_stopped():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.plan.slow_after = 5  # sync and seq 0-3, then 1013 slow_consumer
        stream = fast(SessionStream(server.url, server.cid, after_seq=-1))
        items = await collect(stream, lambda items: durable_seqs(items)[-1:] == [HISTORY])
        await stream.close()
    assert durable_seqs(items) == list(range(HISTORY + 1))
    closed = [i for i in items if isinstance(i, Disconnected)]
    assert closed and "slow_consumer" in closed[0].reason
    assert server.paths[1].endswith("after_seq=3")


async def test_an_oversized_event_is_skipped_reported_and_the_stream_resumes_after_it():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.plan.oversized = {server.log[3]["id"]}
        stream = fast(SessionStream(server.url, server.cid, after_seq=-1))
        items = await collect(stream, lambda items: durable_seqs(items)[-1:] == [HISTORY])
        await stream.close()
    assert [i.seq for i in items if isinstance(i, Oversized)] == [3]
    assert durable_seqs(items) == [0, 1, 2, *range(4, HISTORY + 1)]
    assert server.paths[1].endswith("after_seq=3")


async def test_a_wrong_key_stops_the_stream():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY, key="right") as server:
        stream = SessionStream(server.url, server.cid, "not-the-key-xyz")
        items = await collect(stream, lambda items: isinstance(items[-1], Stopped))
    assert isinstance(items[-1].error, Unauthorized) and "not-the-key-xyz" not in items[-1].reason


async def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else():
    elsewhere: list[str] = []

    async def target(ws) -> None:
        elsewhere.append(await ws.recv())

    def redirect(connection, request):
        return Response(302, "Found", Headers({"Location": f"ws://127.0.0.1:{target_port}/x", "Content-Length": "0"}))

    async with (
        serve(target, "127.0.0.1", 0) as target_server,
        serve(target, "127.0.0.1", 0, process_request=redirect) as redirecting,
    ):
        target_port = next(iter(target_server.sockets)).getsockname()[1]
        port = next(iter(redirecting.sockets)).getsockname()[1]
        stream = fast(SessionStream(f"http://127.0.0.1:{port}", "6bbbd5a9-4fe1-400c-84a4-5a0372be7eb5", "sekrit"))
        items = await collect(stream, lambda items: isinstance(items[-1], Disconnected))
        await stream.close()
    assert not any(isinstance(i, Connected) for i in items)
    assert "302" in items[-1].reason
    assert elsewhere == []


# ---------------------------------------------------------------------------------------------- the session


@contextlib.asynccontextmanager
async def session_on(server: FakeSessionServer, url: str | None = None, **kwargs) -> AsyncIterator[ConversationSession]:
    async with AgentClient(url or server.url) as client:
        session = ConversationSession(
            client,
            server.cid,
            session_stream_factory=lambda c, cid, after: fast(c.session_stream(cid, after_seq=after)),
            **kwargs,
        )
        task = asyncio.create_task(session.run())
        try:
            assert await session.wait_live(10), session.connection
            yield session
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def ids(session: ConversationSession) -> list[str]:
    return [e.id for e in session.timeline]


async def test_a_158_server_is_followed_on_the_session_socket_and_the_cursor_survives_a_restart(tmp_path):
    store = CursorStore(tmp_path)
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        async with session_on(server, cursor_store=store) as session:
            assert session.protocol is Protocol.SESSION
            assert ids(session) == [e["id"] for e in server.log]
            await eventually(lambda: session.status is ExecutionStatus.FINISHED)  # from the snapshot after replay
            await server.play(TURN_D)
            await eventually(lambda: session.cursor == 18 and not session.turn.active)
        assert store.load(server.url, server.cid) == 18
        async with session_on(server, cursor_store=store) as again:
            assert again.saved_cursor == 18
    assert all(p.startswith("/sockets/session/") for p in server.paths)


async def test_an_older_server_is_followed_on_the_events_socket():
    async with (
        FakeSessionServer.from_recording(RECORDING, upto=HISTORY, version="1.43.1") as server,
        AgentClient(server.url) as client,
    ):
        session = ConversationSession(client, server.cid)
        task = asyncio.create_task(session.run())
        await eventually(lambda: session.connection.state is ConnectionState.STOPPED)
        await asyncio.wait_for(task, 5)
    assert session.protocol is Protocol.EVENTS
    assert server.paths == [f"/sockets/events/{server.cid}"]


async def test_a_streamed_reply_is_closed_by_the_event_with_its_id():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server, session_on(server) as session:
        shown: list[str] = []
        session.subscribe(lambda c: shown.append(session.tokens.content))
        await server.play(TURN_D[:11])  # up to the sixth delta
        await eventually(lambda: session.tokens.content == "tok0 tok1 tok2 tok3 tok4 tok5")
        await server.play(TURN_D[11:])
        await eventually(lambda: not session.turn.active)
        final = next(e for e in session.timeline if e.id == "61c8314e-c700-4986-8ccd-9dcf108c2a72")
        assert isinstance(final, MessageEvent) and final.text.startswith(max(shown, key=len))
        assert not session.tokens.active and not session.tokens.orphans
        await server.play(TURN_D2)  # streamed thought closed by the finish ActionEvent with the item's id
        await eventually(lambda: session.cursor == 26 and not session.turn.active)
        assert not session.tokens.active and not session.tokens.orphans


async def test_a_drop_mid_stream_marks_the_slot_lossy_and_the_final_message_repairs_it():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        proxy = await DroppingProxy("127.0.0.1", server.port).start()
        try:
            async with session_on(server, url=proxy.base_url) as session:
                await server.play(TURN_D[:11])
                await eventually(lambda: session.tokens.content.endswith("tok5"))
                proxy.drop_all()
                await server.play(TURN_D[11:15])  # lost with the connection (deltas are never replayed)
                await eventually(lambda: len(server.paths) == 2 and session.connection.state is ConnectionState.LIVE)
                assert server.paths[-1].endswith("after_seq=15")
                await server.play(TURN_D[15:23])  # deltas after the reconnect, without their item_started
                await eventually(lambda: "tok12" in session.tokens.content)
                assert session.tokens.lossy and "tok6" not in session.tokens.content
                await server.play(TURN_D[23:])
                await eventually(lambda: not session.turn.active and session.cursor == 18)
                assert not session.tokens.active and not session.tokens.orphans
                assert ids(session) == [e["id"] for e in server.log]
        finally:
            await proxy.stop()


async def test_an_interrupted_stream_is_kept_marked_interrupted():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.log.extend(f["event"] for f in FRAMES[14:112] if f["type"] == "durable")  # up to seq 40
        async with session_on(server) as session:
            await server.play(TURN_G)
            await eventually(lambda: session.status is ExecutionStatus.PAUSED and not session.turn.active)
            assert [(o.text, o.reason) for o in session.tokens.orphans] == [("tok0 tok1 tok2", "interrupted")]
            assert not session.tokens.active


async def test_an_oversized_event_is_read_over_rest_and_nothing_is_missing():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.plan.oversized = {server.log[5]["id"]}
        async with session_on(server) as session:
            await eventually(lambda: ids(session) == [e["id"] for e in server.log])
            assert session.cursor == HISTORY


async def test_a_long_conversation_opens_tail_first_and_resumes_the_socket_after_it():
    async with (
        FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server,
        session_on(server, history_tail=5) as session,
    ):
        assert ids(session) == [e["id"] for e in server.log[-5:]] and session.has_older
        assert server.paths == [f"/sockets/session/{server.cid}?after_seq={HISTORY}"]
        await server.play(TURN_D)
        await eventually(lambda: session.cursor == 18)
        while session.has_older:
            await session.load_older(100)
        assert sorted(ids(session)) == sorted(e["id"] for e in server.log)


async def test_text_streaming_on_after_a_pause_is_not_cut_off():
    # Pause during an LLM call (1.58 pause recording): paused + its snapshot at once, the reply keeps streaming,
    # lands as the agent message, then finished.
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server, session_on(server) as session:
        await server.play(TURN_D[:13])
        await eventually(lambda: session.tokens.content.endswith("tok7"))
        paused = dict(FRAMES[121]["event"], id="pause-status")
        await server.store(paused)
        await server.broadcast(server.snapshot_frame())
        await eventually(lambda: session.status is ExecutionStatus.PAUSED)
        await server.play([dict(f, seq=f["seq"] + 1) if f["type"] == "durable" else f for f in TURN_D[13:]])
        await eventually(lambda: session.status is ExecutionStatus.FINISHED and "61c8314e" in str(ids(session)))
        assert not session.tokens.orphans, "the reply was not cut off"
        assert not session.tokens.active


async def test_a_steer_goes_into_the_running_turn_without_interrupting_it():
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server, session_on(server) as session:
        await server.play(TURN_D[:8])
        await eventually(lambda: session.turn.active and session.status is ExecutionStatus.RUNNING)
        assert session.can_steer
        generation = session.turn.generation
        item = await session.submit("also mention the weather", mode="steer")
        await eventually(lambda: session.outbox.get(item.id) is None)
        assert [p for p, _ in server.posts] == ["events"]  # no interrupt, no second turn
        assert session.turn.active and session.turn.generation == generation
        queued = await session.submit("after this turn")  # the default still queues
        assert session.outbox.get(queued.id) is not None and [p for p, _ in server.posts] == ["events"]


async def test_steering_is_not_offered_on_an_older_server(monkeypatch):
    async with (
        FakeSessionServer.from_recording(RECORDING, upto=HISTORY, version="1.50.0") as server,
        session_on(server) as session,
    ):
        await server.play(TURN_D[:8])
        await eventually(lambda: session.turn.active)
        assert not session.can_steer
        item = await session.submit("queued, not steered", mode="steer")
        assert session.outbox.get(item.id).state is ItemState.QUEUED and server.posts == []


async def test_a_full_server_stores_the_message_once_and_the_run_is_started_when_a_slot_frees(monkeypatch, tmp_path):
    monkeypatch.setattr(conversation_module, "CAPACITY_BACKOFF", (0.05,))
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.full = True
        async with session_on(server, outbox_store=OutboxStore(tmp_path)) as session:
            await eventually(lambda: session.status is ExecutionStatus.FINISHED)
            item = await session.submit("hello while full")
            await eventually(lambda: [p for p, _ in server.posts].count("run") >= 3)
            assert session.outbox.get(item.id).state is ItemState.STARTING
            assert "server full" in (session.capacity_wait or "")
            server.full = False
            await eventually(lambda: session.outbox.get(item.id) is None)
            assert session.capacity_wait is None
    sent = [body for path, body in server.posts if path == "events"]
    assert len(sent) == 1, "the text is never sent again"


async def test_an_approval_refused_by_a_full_server_is_repeated_until_accepted(monkeypatch):
    monkeypatch.setattr(conversation_module, "CAPACITY_BACKOFF", (0.05,))
    async with FakeSessionServer.from_recording(RECORDING, upto=HISTORY) as server:
        server.full = True
        async with session_on(server) as session:
            await session.approve()
            await eventually(lambda: len(server.posts) >= 3 and session.capacity_wait is not None)
            server.full = False
            await eventually(lambda: session.capacity_wait is None)
    assert all(path == "respond_to_confirmation" and body["accept"] is True for path, body in server.posts)
    assert len(server.posts) >= 4


@pytest.mark.parametrize("after", [None, 3])
async def test_the_cursor_file_is_written_atomically_and_read_back(tmp_path, after):
    store = CursorStore(tmp_path)
    assert store.load("http://s:1", "c") is None
    if after is not None:
        store.save("http://s:1", "c", after)
    (tmp_path / "junk.tmp").write_text("x")
    assert store.load("http://s:1", "c") == after
    store.save("http://s:1", "c", 7)
    assert store.load("http://s:1", "c") == 7 and not list(tmp_path.glob(".cursor-*"))
    store.path_for("http://s:1", "c").write_text("{broken")
    assert store.load("http://s:1", "c") is None
