"""The headless verbs as a script would run them: a subprocess against the embedded server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from tui.demo.server import DemoServer

KEY = "cli-session-key-0123456789"


@pytest.fixture(scope="module")
def server():
    with DemoServer(slow_seconds=1.0, token_rate=500) as srv:
        yield srv


@pytest.fixture(scope="module")
def keyed_server():
    with DemoServer(session_keys=[KEY]) as srv:
        yield srv


def cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {
        **os.environ,
        "OPENHANDS_TUI_STATE_DIR": "/tmp/openhands-tui-cli-test-state",
        "OPENHANDS_TUI_CONFIG_DIR": "/tmp/openhands-tui-cli-test-config-none",
        **(env or {}),
    }
    full_env.pop("OPENHANDS_TUI_SERVERS", None)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def new(server, *extra: str) -> str:
    out = cli("--server", server.base_url, "new", "--model", "demo/scripted", "--workdir", "/tmp/w", *extra)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[0]


def test_help_explains_every_verb():
    out = cli("--help")
    assert out.returncode == 0
    for verb in (
        "list",
        "new",
        "send",
        "watch",
        "export",
        "interrupt",
        "pause",
        "resume",
        "approve",
        "reject",
        "delete",
        "rename",
        "init",
        "demo-server",
    ):
        assert verb in out.stdout
    send = cli("send", "--help")
    assert "--interrupt" in send.stdout and "--wait" in send.stdout and "--timeout" in send.stdout


def test_new_send_wait_list_and_export(server):
    cid = new(server)
    out = cli("send", cid, "[bash] run echo hello", "--wait", "--json", "--server", server.base_url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "finished"
    listed = cli("--server", server.base_url, "list", "--json")
    rows = json.loads(listed.stdout)
    assert any(r["id"] == cid and r["status"] == "finished" and r["cost"] > 0 for r in rows)
    md = cli("--server", server.base_url, "export", cid[:8], "--format", "md")
    assert md.returncode == 0 and "[bash] run echo hello" in md.stdout and "### Action" in md.stdout
    js = json.loads(cli("--server", server.base_url, "export", cid, "--format", "json").stdout)
    assert js["conversation"]["id"] == cid and any(e["kind"] == "ObservationEvent" for e in js["events"])


def test_new_with_message_and_wait(server):
    out = cli(
        "--server", server.base_url, "new", "--model", "m", "--workdir", "/tmp/w", "[text] hi", "--wait", "--json"
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout.strip().splitlines()[-1])
    assert body["status"] == "finished"


def test_send_while_busy_waits_for_the_turn_and_is_answered(server):
    cid = new(server)
    first = subprocess.Popen(
        [sys.executable, "-m", "tui", "--server", server.base_url, "send", cid, "[slow] first", "--wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while httpx.get(f"{server.base_url}/api/conversations/{cid}").json()["execution_status"] != "running":
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = cli("--server", server.base_url, "send", cid, "[text] second", "--wait", "--json")
    finally:
        first.wait(30)
    assert second.returncode == 0, second.stderr
    events = json.loads(cli("--server", server.base_url, "export", cid, "--format", "json").stdout)["events"]
    users = [e for e in events if e["kind"] == "MessageEvent" and e["source"] == "user"]
    assert [u["llm_message"]["content"][0]["text"] for u in users] == ["[slow] first", "[text] second"]
    after_second = events[events.index(users[-1]) + 1 :]
    assert any(e["kind"] == "MessageEvent" and e["source"] == "agent" for e in after_second), "it was answered"


def test_exit_codes_for_error_and_stuck(server):
    cid = new(server)
    assert cli("--server", server.base_url, "send", cid, "[error] please fail", "--wait").returncode == 3
    cid = new(server)
    assert cli("--server", server.base_url, "send", cid, "stuck please", "--wait").returncode == 4


def test_timeout_exit_code(server):
    cid = new(server)
    out = cli("--server", server.base_url, "send", cid, "[slow] slow one", "--wait", "--timeout", "0.3")
    assert out.returncode == 124


def test_watch_json_prints_history_exactly_once(server):
    cid = new(server)
    assert cli("--server", server.base_url, "send", cid, "[bash] go", "--wait").returncode == 0
    out = cli("--server", server.base_url, "watch", cid, "--json", "--until-done")
    assert out.returncode == 0, out.stderr
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    exported = json.loads(cli("--server", server.base_url, "export", cid, "--format", "json").stdout)["events"]
    assert sorted(e["id"] for e in printed) == sorted(e["id"] for e in exported)


def test_unreachable_and_usage_errors():
    out = cli("--server", "http://127.0.0.1:9", "list")
    assert out.returncode == 1 and "cannot reach" in out.stderr.lower()
    out = cli("list")
    assert out.returncode == 2 and "no server configured" in out.stderr
    out = cli("--server", "ftp://nope", "list")
    assert out.returncode == 2 and "not a server URL" in out.stderr


def test_wrong_key_is_reported_without_the_key(keyed_server):
    out = cli("--server", keyed_server.base_url, "--session-key-env", "K", "list", env={"K": "not-the-key"})
    assert out.returncode == 1
    assert "key" in out.stderr.lower() and "not-the-key" not in out.stderr
    ok = cli("list", "--server", keyed_server.base_url, "--session-key-env", "K", env={"K": KEY})
    assert ok.returncode == 0, ok.stderr


def test_unknown_conversation_is_reported(server):
    out = cli("--server", server.base_url, "send", "0123456789abcdef0123456789abcdef", "hi")
    assert out.returncode == 1 and "not found" in out.stderr


def test_dormant_server_is_reported_and_init_wakes_it():
    with DemoServer(deferred_init=True, init_key="the-init-key") as srv:
        out = cli("--server", srv.base_url, "list")
        assert out.returncode == 1 and "openhands-tui init" in out.stderr
        woke = cli("--server", srv.base_url, "init", "--init-key-env", "IK", env={"IK": "the-init-key"})
        assert woke.returncode == 0, woke.stderr
        assert cli("--server", srv.base_url, "list").returncode == 0


class _Recorder(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.received.append((json.loads(body), self.headers.get("Authorization")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_completion_callback_is_posted(server):
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cid = new(server)
        env = {
            "AUTOMATION_CALLBACK_URL": f"http://127.0.0.1:{httpd.server_port}/done",
            "AUTOMATION_RUN_ID": "run-42",
            "AUTOMATION_CALLBACK_API_KEY": "cb-key",
        }
        out = cli("--server", server.base_url, "send", cid, "[text] hi", "--wait", env=env)
        assert out.returncode == 0
        body, auth = _Recorder.received[-1]
        assert body == {"status": "COMPLETED", "conversation_id": cid, "run_id": "run-42"}
        assert auth == "Bearer cb-key"
        # A callback that cannot be delivered never changes the exit code.
        env["AUTOMATION_CALLBACK_URL"] = "http://127.0.0.1:9/done"
        assert cli("--server", server.base_url, "send", cid, "[text] again", "--wait", env=env).returncode == 0
    finally:
        httpd.shutdown()


def test_send_to_a_conversation_waiting_for_confirmation_is_refused_with_code_5(server):
    cid = new(server, "--confirm")
    assert cli("--server", server.base_url, "send", cid, "[bash] needs confirmation", "--wait").returncode == 5
    out = cli("--server", server.base_url, "send", cid, "[text] another", "--timeout", "20")
    assert out.returncode == 5 and "approv" in out.stderr
    assert cli("--server", server.base_url, "approve", cid).returncode == 0


def test_watch_prints_one_readable_line_per_event(server):
    cid = new(server)
    assert cli("--server", server.base_url, "send", cid, "[bash] go", "--wait").returncode == 0
    out = cli("--server", server.base_url, "watch", cid, "--until-done")
    lines = out.stdout.splitlines()
    assert any("MessageEvent" in line and "user: [bash] go" in line for line in lines)
    assert any("ActionEvent" in line and "terminal" in line for line in lines)
    assert any("stats: $" in line for line in lines)
    assert len(lines) == len(
        json.loads(cli("--server", server.base_url, "export", cid, "--format", "json").stdout)["events"]
    )
