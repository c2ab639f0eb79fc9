"""Server restart mid-turn: the demo server (a subprocess with `--persist-dir`) is killed with SIGKILL during a
`[slowbash]` turn and started again on the same port. The session must show RECONNECTING, then RESYNCING, then
LIVE, and its timeline must equal the server's REST history afterwards (nothing lost, nothing twice); the
conversation must still work (a new turn is answered)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import eventually, following, new_conversation, user_texts
from tui.client import AgentClient
from tui.protocol import ActionEvent, ExecutionStatus
from tui.session import ChangeKind, ConnectionState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(port: int, persist_dir: Path, *extra: str) -> subprocess.Popen:
    """`python -m tui.demo` as a subprocess; returns once it prints `listening on`."""
    cmd = [
        sys.executable,
        "-m",
        "tui.demo",
        "--port",
        str(port),
        "--persist-dir",
        str(persist_dir),
        "--slow-seconds",
        "4",
        "--tool-seconds",
        "0.05",
        "--token-rate",
        "200",
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1")
    )
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"demo server did not start: {proc.stdout.read()}")


def kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    proc.wait(10)


@pytest.mark.timeout(60)
async def test_restart_mid_turn_reconnects_resyncs_and_loses_nothing(tmp_path):
    port = free_port()
    server = start_demo(port, tmp_path / "persist")
    base = f"http://127.0.0.1:{port}"
    try:
        async with AgentClient(base) as client:
            cid = await new_conversation(client)
            async with following(client, cid) as session:
                states: list[ConnectionState] = []
                session.subscribe(
                    lambda ch: states.append(session.connection.state) if ch.kind is ChangeKind.CONNECTION else None
                )
                item = await session.submit("[bash] before")
                assert await session.wait_until(lambda: item.id in session.settled, 20)
                await session.submit("[slowbash] the server dies during this")
                # Mid-turn: the agent is running the slow tool.
                assert await session.wait_until(
                    lambda: (
                        session.status is ExecutionStatus.RUNNING
                        and any(isinstance(e, ActionEvent) and "sleep" in str(e.to_wire()) for e in session.timeline)
                    ),
                    20,
                )
                held_before = [e.id for e in session.timeline]
                kill(server)
                assert await session.wait_until(lambda: session.connection.state is ConnectionState.RECONNECTING, 10), (
                    states
                )
                await asyncio.sleep(0.5)
                server = start_demo(port, tmp_path / "persist")
                assert await session.wait_until(lambda: session.connection.state is ConnectionState.LIVE, 40), (
                    states,
                    session.connection,
                )
                after_kill = states[states.index(ConnectionState.RECONNECTING) :]
                assert ConnectionState.RESYNCING in after_kill, after_kill
                assert after_kill.index(ConnectionState.RESYNCING) < len(after_kill) - 1
                assert after_kill[-1] is ConnectionState.LIVE

                async def same() -> bool:
                    rest = [e.id for e in await client.all_events(cid)]
                    return collections.Counter(rest) == collections.Counter(e.id for e in session.timeline)

                deadline = time.monotonic() + 15
                while not await same():
                    assert time.monotonic() < deadline, "timeline never matched the REST history"
                    await asyncio.sleep(0.2)
                rest = [e.id for e in await client.all_events(cid)]
                assert set(held_before) <= set(rest)  # persisted: nothing the client saw was lost
                assert len(set(rest)) == len(rest) == len(session.timeline)

                # The conversation still works after the restart.
                item = await session.submit("[text] after the restart")
                assert await session.wait_until(lambda: item.id in session.settled, 20)
                await eventually(lambda: "[text] after the restart" in user_texts(session.timeline))
                assert await same()
    finally:
        kill(server)
