"""The terminal's window title says how many conversations need the person while the app runs, and is given back
at quit (a stale "4 need you" in a tmux window is a lie). The real app in tmux; skipped without tmux."""

from __future__ import annotations

import os
import shlex
import sys
import time
import uuid

import pytest

from tests.fixtures_demo import start_demo
from tests.test_tmux_burst import Tmux, pytestmark, wait_screen  # noqa: F401 (the tmux skip mark)


def wait_title(tmux: Tmux, predicate, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        title = tmux("display-message", "-p", "-t", "app", "#{pane_title}").strip()
        if predicate(title):
            return title
        assert time.monotonic() < deadline, f"the title never became what was awaited: {title!r}"
        time.sleep(0.2)


@pytest.mark.timeout(180)
def test_the_window_title_counts_what_needs_you_and_is_restored_at_quit(tmp_path):
    server = start_demo(demo_seed=True)  # seeded: a conversation waiting for confirmation, a failed one
    try:
        env = {f"XDG_{name}_HOME": str(tmp_path / name.lower()) for name in ("CONFIG", "STATE", "DATA", "CACHE")}
        assignments = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
        app = " ".join(["env", *assignments, shlex.quote(sys.executable), "-m", "tui", "--server", server.base_url])
        # The shell sets a title of its own first, and stays after the app quits so the pane can be read.
        command = f"printf '\\033]2;my shell\\007'; {app}; echo app-exited; sleep 60"
        tmux = Tmux(f"oh-tui-title-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        try:
            tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "36", "sh", "-c", command)
            assert "need" in wait_title(tmux, lambda t: "need you" in t)
            tmux("send-keys", "-t", "app", "C-q")
            wait_screen(tmux, lambda s: "app-exited" in s)
            assert wait_title(tmux, lambda t: "need" not in t, timeout=10) == "my shell"
        finally:
            tmux("kill-server")
    finally:
        server.stop()
