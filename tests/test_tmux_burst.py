"""The real app in a real terminal (tmux), keys sent in one burst with no pauses, a paste among them: the
embedded server's history must hold exactly the typed messages, in order, each once. Skipped without tmux."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.fixtures_demo import start_demo
from tests.helpers import new_conversation, user_texts
from tui.client import AgentClient

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "app")


def wait_screen(tmux: Tmux, predicate, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = tmux.screen()
        if predicate(screen):
            return screen
        assert time.monotonic() < deadline, f"the screen never showed what was awaited:\n{screen}"
        time.sleep(0.1)


@pytest.fixture
def server():
    srv = start_demo(slow_seconds=0.5)
    yield srv
    srv.stop()


@pytest.mark.timeout(300)  # a real app starting in tmux on a loaded machine
def test_burst_typed_into_the_real_app_in_tmux_arrives_as_typed(server, tmp_path):
    cid = asyncio.run(_create(server.base_url))
    env = {f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "DATA", "CACHE")}
    env["OPENHANDS_TUI_STATE_DIR"] = str(tmp_path / "state")
    env["OPENHANDS_TUI_CONFIG_DIR"] = str(tmp_path / "config")
    command = " ".join(
        [
            "env",
            *(f"{k}={shlex.quote(v)}" for k, v in env.items()),
            shlex.quote(sys.executable),
            "-m",
            "tui",
            "--server",
            server.base_url,
            "--open",
            cid[:10],
        ]
    )
    tmux = Tmux(f"oh-tui-burst-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "36", command)
        wait_screen(tmux, lambda s: "burst target" in s and "live" in s)
        typed = [f"alpha {n} text" for n in range(12)]
        keys: list[str] = []
        for n, message in enumerate(typed):
            keys += [message, "C-s" if n % 4 == 3 else "Enter"]
        pasted = "pasted charlie text"
        tmux("send-keys", "-t", "app", *keys[:12])  # one command each: no pause between the keys
        tmux("set-buffer", "-b", "burst", pasted)
        tmux("paste-buffer", "-p", "-b", "burst", "-t", "app")
        tmux("send-keys", "-t", "app", "Enter", *keys[12:])
        expected = [*typed[:6], pasted, *typed[6:]]
        history = asyncio.run(_wait_history(server.base_url, cid, len(expected)))
        assert sorted(history) == sorted(expected), "each message once, none merged or split"
        plain = [m for n, m in enumerate(typed) if n % 4 != 3] + [pasted]
        assert [m for m in history if m in plain] == [m for m in expected if m in plain], "Enter keeps the order"
    finally:
        tmux("kill-server")


async def _create(url: str) -> str:
    async with AgentClient(url) as client:
        cid = await new_conversation(client)
        await client.rename_conversation(cid, "burst target")
        return cid


async def _wait_history(url: str, cid: str, count: int, timeout: float = 90.0) -> list[str]:
    deadline = time.monotonic() + timeout
    async with AgentClient(url) as client:
        while True:
            history = user_texts(await client.all_events(cid))
            if len(history) >= count or time.monotonic() > deadline:
                await asyncio.sleep(1.0)  # anything merged or doubled would show up now
                return user_texts(await client.all_events(cid))
            await asyncio.sleep(0.3)
