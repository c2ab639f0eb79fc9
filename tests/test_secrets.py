"""With a session key and an LLM key in use, neither appears in a log file, an export, a screenshot, a
notification, a process argument list or a URL the client opens (nor in the client objects' reprs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.proxy import RecordingProxy
from tui.client import AgentClient, EventStream
from tui.demo import DemoServer
from tui.protocol import StartConversationRequest
from tui.session import ConversationSession

SESSION_KEY = "sk-session-9f8e7d6c5b4a39281706"
LLM_KEY = "sk-llm-0a1b2c3d4e5f60718293a4b5"
WRONG_KEY = "sk-wrong-5566778899aabbccddee"
KEYS = (SESSION_KEY, LLM_KEY, WRONG_KEY)


def assert_clean(text: str | bytes, where: str) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for key in KEYS:
        assert key not in text, f"a key leaks into {where}"
        assert key[6:22] not in text, f"part of a key leaks into {where}"


@pytest.fixture
def keyed():
    with DemoServer(session_keys=[SESSION_KEY], **FAST_KNOBS) as srv:
        yield srv


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "OH_KEY": SESSION_KEY,
        "LLM_KEY": LLM_KEY,
        "BAD_KEY": WRONG_KEY,
        "OPENHANDS_TUI_STATE_DIR": str(tmp_path / "state"),
        "OPENHANDS_TUI_CONFIG_DIR": str(tmp_path / "cfg"),
    }
    env.pop("OPENHANDS_TUI_SERVERS", None)
    return env


async def test_urls_logs_and_reprs(keyed, tmp_path):
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # httpx, httpcore, websockets, uvicorn, ours: everything that logs
    proxy = await RecordingProxy("127.0.0.1", keyed.port).start()
    try:
        async with AgentClient(proxy.base_url, SESSION_KEY) as client:
            req = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/w", api_key=LLM_KEY)
            info = await client.create_conversation(req)
            session = ConversationSession(client, info.id)
            task = asyncio.create_task(session.run())
            try:
                assert await session.wait_live(15)
                item = await session.submit("[bash] hello")
                assert await session.wait_until(lambda: item.id in session.settled, 20)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # A 1.58 server is followed on the session socket; the events socket (older servers) is checked too.
            legacy = ConversationSession(client, info.id, protocol="events")
            task = asyncio.create_task(legacy.run())
            try:
                assert await legacy.wait_live(15)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            stream = client.event_stream(info.id)
            for obj in (
                client,
                stream,
                EventStream(proxy.base_url, info.id, SESSION_KEY),
                session.connection,
                await client.get_conversation(info.id),
            ):
                assert_clean(repr(obj), f"repr of {type(obj).__name__}")
                assert_clean(str(obj), f"str of {type(obj).__name__}")
        async with AgentClient(proxy.base_url, WRONG_KEY) as bad:
            with pytest.raises(Exception) as error:
                await bad.search_conversations()
            assert_clean(str(error.value), "an error message")
            assert_clean(repr(error.value), "an error repr")
            bad_session = ConversationSession(bad, info.id)
            notices: list[str] = []
            bad_session.subscribe(lambda ch: notices.append(ch.message or ""))
            task = asyncio.create_task(bad_session.run())
            await bad_session.wait_until(lambda: bad_session.connection.state.value == "stopped", 15)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert_clean("\n".join(notices) + bad_session.connection.reason, "session notices")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
        await proxy.stop()
    lines = proxy.request_lines()
    assert any("/sockets/events/" in line for line in lines) and any("/api/conversations" in line for line in lines)
    assert any("/sockets/session/" in line for line in lines)
    assert_clean("\n".join(lines), "a URL the client opened")
    assert_clean(log_file.read_text(errors="replace"), "the debug log file")


def test_cli_argv_exports_and_logs(keyed, tmp_path):
    env = env_for(tmp_path)
    base = ["--server", keyed.base_url, "--session-key-env", "OH_KEY"]
    new = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            *base,
            "new",
            "--model",
            "demo/scripted",
            "--workdir",
            "/w",
            "--llm-key-env",
            "LLM_KEY",
            "[bash] hi",
            "--wait",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert new.returncode == 0, new.stderr
    cid = new.stderr.split()[0]  # new MESSAGE --wait: the reply on stdout, the id (then id and status) on stderr
    assert_clean(new.stdout + new.stderr, "the output of new")
    # A long-running verb: its argument list, as every user of the machine can read it.
    watch = subprocess.Popen(
        [sys.executable, "-m", "tui", *base, "watch", cid, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        time.sleep(1.5)
        cmdline = Path(f"/proc/{watch.pid}/cmdline").read_bytes()
        assert b"watch" in cmdline
        assert_clean(cmdline, "the process argument list")
    finally:
        watch.terminate()
        out, err = watch.communicate(timeout=10)
    assert_clean(out + err, "the output of watch --json")
    for fmt in ("md", "json"):
        path = tmp_path / f"export.{fmt}"
        ex = subprocess.run(
            [sys.executable, "-m", "tui", *base, "export", cid, "--format", fmt, "-o", str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert ex.returncode == 0, ex.stderr
        assert_clean(path.read_text(), f"the {fmt} export")
    bad = subprocess.run(
        [sys.executable, "-m", "tui", "--server", keyed.base_url, "--session-key-env", "BAD_KEY", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 1
    assert_clean(bad.stdout + bad.stderr, "the error for a wrong key")
    # Nothing the verbs wrote under the state directory (outbox, logs) holds a key.
    for path in (tmp_path / "state").rglob("*") if (tmp_path / "state").exists() else []:
        if path.is_file():
            assert_clean(path.read_bytes(), f"the state file {path.name}")


@pytest.mark.timeout(60)
async def test_screenshot_and_notifications(keyed, tmp_path):
    from tests.snapshot_apps.harness import Prefs, wait_for
    from tui.app.app import OpenHandsApp
    from tui.config import ServerConfig
    from tui.session import Fleet

    async with AgentClient(keyed.base_url, SESSION_KEY) as client:
        req = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/w", api_key=LLM_KEY)
        cid = (await client.create_conversation(req)).id
        await client.send_message(cid, "[bash] with keys")
    fleet = Fleet(
        [ServerConfig("good", keyed.base_url, SESSION_KEY), ServerConfig("bad", keyed.base_url, WRONG_KEY)],
        state_dir=tmp_path,
        fast_poll=0.3,
        slow_poll=0.5,
    )
    app = OpenHandsApp(fleet, preferences=Prefs())
    log_file = tmp_path / "textual.log"
    async with app.run_test(size=(140, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: cid in fleet.entry("good").conversations, 15, "listed")
        await app.open_conversation("good", cid)
        await wait_for(pilot, lambda: app.session.connection.state.value == "live", 15, "live")
        await wait_for(
            pilot,
            lambda: str(fleet.entry("bad").state.value) != "ok" and fleet.entry("bad").message,
            15,
            "the bad server's state",
        )
        app.watch_conversation(("bad", cid))  # a session with the wrong key: a notification about it
        await pilot.pause(1.5)
        svg = app.export_screenshot()
        notes = [f"{n.title} {n.message}" for n in app._notifications]
        log_file.write_text("\n".join(notes))
    assert notes, "expected at least one notification (the wrong key)"
    assert_clean(svg, "the screenshot")
    assert_clean("\n".join(notes), "a notification")
    assert_clean(str(fleet.entry("bad").message), "the server row message")
