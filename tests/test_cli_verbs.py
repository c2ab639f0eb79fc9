"""The headless verbs as a script relies on them, run as a subprocess against the embedded server on loopback:
the reply on stdout, one-line errors with their exit codes, nothing-to-do codes, watch from the middle of a
turn, --tail/--since/--next, list totals, search, and a send that times out before it could be delivered."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.test_cli import cli, new
from tui.demo.server import DemoServer

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server():
    # A slow reply takes 4 s and a failing LLM call 2.5 s: long enough to start a verb in the middle of the turn.
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0, "error_seconds": 2.5}) as srv:
        yield srv


def _status(server, cid: str) -> str:
    return httpx.get(f"{server.base_url}/api/conversations/{cid}").json()["execution_status"]


def _until_running(server, cid: str) -> None:
    deadline = time.monotonic() + 20
    while _status(server, cid) != "running":
        assert time.monotonic() < deadline, "the turn never started"
        time.sleep(0.02)


def _events(server, cid: str) -> list[dict]:
    out = cli("--server", server.base_url, "export", cid, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["events"]


def _user_texts(events: list[dict]) -> list[str]:
    return [
        e["llm_message"]["content"][0]["text"] for e in events if e["kind"] == "MessageEvent" and e["source"] == "user"
    ]


def test_the_verbs_print_only_through_the_sanitising_helper():
    """Structural: no verb writes to the terminal except through tui/headless/output.py."""
    for path in sorted((ROOT / "tui" / "headless").glob("*.py")):
        if path.name == "output.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                pytest.fail(f"{path.name}:{node.lineno} calls print(); use tui.headless.output")
            if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr"):
                if not (path.name == "verbs.py" and node.attr == "stdout" and _is_dup2_target(tree, node)):
                    pytest.fail(f"{path.name}:{node.lineno} touches sys.{node.attr}; use tui.headless.output")


def _is_dup2_target(tree: ast.AST, target: ast.Attribute) -> bool:
    """`sys.stdout.fileno()` handed to os.dup2 (pointing a closed stdout at /dev/null) is not printing."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "fileno" and node.value is target:
            return True
    return False


def test_send_wait_prints_the_reply_on_stdout_and_id_and_status_on_stderr(server):
    cid = new(server)
    out = cli("--server", server.base_url, "send", cid, "[text] hi", "--wait")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello from the demo agent. This is a plain text answer.\n"
    assert out.stderr.strip() == f"{cid} finished"
    # The finish tool's message is the answer when the agent calls it.
    out = cli("--server", server.base_url, "send", cid, "[bash] run it", "--wait")
    assert out.returncode == 0, out.stderr
    finishes = [e for e in _events(server, cid) if e["kind"] == "ActionEvent" and e["tool_name"] == "finish"]
    assert out.stdout.strip() == finishes[-1]["action"]["message"].strip()


def test_send_wait_json_has_the_documented_fields(server):
    cid = new(server)
    out = cli("--server", server.base_url, "send", cid, "[text] hi", "--wait", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["conversation_id"] == cid and body["status"] == "finished" and body["exit_code"] == 0
    assert body["reply"] == "Hello from the demo agent. This is a plain text answer."
    assert body["cost"] > 0 and body["tokens"]["prompt"] > 0 and body["tokens"]["completion"] > 0
    assert 0 < body["duration_s"] < 60
    assert out.stderr == ""
    error = cli("--server", server.base_url, "send", cid, "[error] fail", "--wait", "--json")
    assert error.returncode == 3 and json.loads(error.stdout)["exit_code"] == 3


def test_new_wait_prints_the_reply_and_send_dash_reads_stdin(server):
    out = cli("--server", server.base_url, "new", "--model", "m", "--workdir", "/tmp/w", "[text] hi", "--wait")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Hello from the demo agent. This is a plain text answer.\n"
    cid = out.stderr.split()[0]
    assert out.stderr.strip().endswith(f"{cid} finished")
    piped = subprocess.run(
        [sys.executable, "-m", "tui", "--server", server.base_url, "send", cid, "-", "--wait"],
        input="[text] from standard input\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert _user_texts(_events(server, cid))[-1] == "[text] from standard input"


def test_version_and_one_line_usage_errors_without_tracebacks(server, tmp_path):
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("openhands-tui ")
    cid = new(server)
    s = ("--server", server.base_url)
    cases = {
        "empty message": cli(*s, "send", cid, ""),
        "blank message": cli(*s, "send", cid, "   "),
        "empty stdin": cli(*s, "send", cid, "-"),
        "export into a missing directory": cli(*s, "export", cid, "-o", str(tmp_path / "no" / "such" / "x.md")),
        "llm key variable not set": cli(*s, "new", "--model", "m", "--workdir", "/w", "--llm-key-env", "NOPE_X"),
        "empty model": cli(*s, "new", "--model", " ", "--workdir", "/w"),
        "negative timeout": cli(*s, "send", cid, "hi", "--timeout", "-1"),
        "relative workdir": cli(*s, "new", "--model", "m", "--workdir", "work/here"),
        "unknown flag": cli(*s, "list", "--bogus"),
    }
    for what, out in cases.items():
        assert out.returncode == 2, f"{what}: exit {out.returncode}: {out.stderr}"
        assert "Traceback" not in out.stderr, what
        assert len(out.stderr.strip().splitlines()) == 1, f"{what}: {out.stderr!r}"
    assert "--llm-key-env" in cases["llm key variable not set"].stderr
    assert "--session-key-env" not in cases["llm key variable not set"].stderr
    assert "no" in cases["export into a missing directory"].stderr
    assert _user_texts(_events(server, cid)) == [], "nothing was sent"


def test_a_closed_stdout_ends_quietly(server):
    for _ in range(3):
        new(server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--server", server.base_url, "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `list | head -0`: the reader is gone before anything is written
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0
    assert err == ""


def test_control_verbs_say_when_there_is_nothing_to_do(server):
    cid = new(server)
    s = ("--server", server.base_url)
    for verb in ("approve", "reject", "pause", "interrupt", "resume"):
        out = cli(*s, verb, cid)
        assert out.returncode == 6, f"{verb}: {out.returncode} {out.stderr}"
        assert "nothing" in out.stderr and out.stdout == ""
    assert cli(*s, "send", cid, "[slowbash] busy").returncode == 0
    _until_running(server, cid)
    out = cli(*s, "interrupt", cid)
    assert out.returncode == 0 and "interrupt requested" in out.stdout, out.stderr


def test_watch_until_done_started_mid_turn_exits_when_that_turn_ends(server):
    cid = new(server)
    s = ("--server", server.base_url)
    assert cli(*s, "send", cid, "[slow] take your time").returncode == 0
    _until_running(server, cid)
    started = time.monotonic()
    out = cli(*s, "watch", cid, "--until-done", "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - started < 30
    assert _status(server, cid) != "running"
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    assert any(e["kind"] == "MessageEvent" and e["source"] == "agent" for e in printed), "the turn's reply"
    assert sorted(e["id"] for e in printed) == sorted(e["id"] for e in _events(server, cid))
    # And with the turn's own exit code.
    assert cli(*s, "send", cid, "error after a while").returncode == 0
    _until_running(server, cid)
    assert cli(*s, "watch", cid, "--until-done", timeout=60).returncode == 3


def test_watch_next_until_done_waits_for_the_next_turn_only(server):
    cid = new(server)
    s = ("--server", server.base_url)
    assert cli(*s, "send", cid, "[text] before", "--wait").returncode == 0
    before = {e["id"] for e in _events(server, cid)}
    watch = subprocess.Popen(
        [sys.executable, "-m", "tui", *s, "watch", cid, "--next", "--until-done", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # the watcher is connected and waiting; no turn has run yet
        assert watch.poll() is None, "it waits for the next turn"
        assert cli(*s, "send", cid, "[error] the next one").returncode == 0
        stdout, stderr = watch.communicate(timeout=60)
    finally:
        watch.kill()
    assert watch.returncode == 3, stderr
    printed = [json.loads(line) for line in stdout.splitlines()]
    assert printed and not before & {e["id"] for e in printed}, "nothing from before the start"
    assert any(e["kind"] == "MessageEvent" and e.get("source") == "user" for e in printed)


def test_watch_tail_and_since(server):
    cid = new(server)
    s = ("--server", server.base_url)
    assert cli(*s, "send", cid, "[bash] go", "--wait").returncode == 0
    events = _events(server, cid)
    tail = cli(*s, "watch", cid, "--tail", "3", "--json", "--until-done")
    assert tail.returncode == 0, tail.stderr
    assert [json.loads(line)["id"] for line in tail.stdout.splitlines()] == [e["id"] for e in events[-3:]]
    pivot = events[-4]["id"]
    since = cli(*s, "watch", cid, "--since", pivot, "--json", "--until-done")
    assert since.returncode == 0, since.stderr
    assert [json.loads(line)["id"] for line in since.stdout.splitlines()] == [e["id"] for e in events[-3:]]
    everything = cli(*s, "watch", cid, "--since", "2000-01-01T00:00:00", "--json", "--until-done")
    assert len(everything.stdout.splitlines()) == len(events)
    assert cli(*s, "watch", cid, "--tail", "2", "--next").returncode == 2


def test_list_speaks_the_tuis_words_with_totals(server):
    cid = new(server, "--confirm")
    s = ("--server", server.base_url)
    assert cli(*s, "send", cid, "[bash] needs confirmation", "--wait").returncode == 5
    out = cli(*s, "list")
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.split()[1] == cid[:8])
    assert "needs confirmation" in row and "waiting_for_confirmation" not in row
    rows = json.loads(cli(*s, "list", "--json").stdout)
    total = sum(r["cost"] for r in rows)
    assert f"total {server.base_url.split('//')[1]}: {len(rows)} conversations, ${total:,.2f}" in out.stdout
    assert "$ 0.0000" not in out.stdout
    assert {"server", "server_url", "id", "title", "status", "model", "cost", "created_at", "updated_at"} == set(
        rows[0]
    )
    two = cli("--server", server.base_url, "--server", server.base_url + "/", "list")
    assert f"total: {2 * len(rows)} conversations on 2 of 2 servers" in two.stdout


def test_search_finds_conversations_by_what_was_said(server):
    s = ("--server", server.base_url)
    cid = new(server)
    other = new(server)
    assert cli(*s, "send", cid, "[text] the word is Zanzibar-42 today", "--wait").returncode == 0
    assert cli(*s, "send", other, "[text] nothing to see", "--wait").returncode == 0
    out = cli(*s, "search", "zanzibar-42")
    assert out.returncode == 0, out.stderr
    assert cid in out.stdout and other not in out.stdout
    assert "user: [text] the word is Zanzibar-42 today" in out.stdout
    found = json.loads(cli(*s, "search", "Zanzibar-42", "--json").stdout)
    assert [f["id"] for f in found] == [cid]
    assert found[0]["matches"][0]["line"] == "[text] the word is Zanzibar-42 today"
    nothing = cli(*s, "search", "no-such-words-anywhere")
    assert nothing.returncode == 0 and "no conversation mentions" in nothing.stdout


def test_send_timeout_while_waiting_to_deliver_says_the_message_was_not_sent(server):
    cid = new(server)
    s = ("--server", server.base_url)
    assert cli(*s, "send", cid, "[slow] busy for a while").returncode == 0
    _until_running(server, cid)
    out = cli(*s, "send", cid, "[text] too late", "--timeout", "0.5")
    assert out.returncode == 124
    assert "NOT sent" in out.stderr and "continues" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert cli(*s, "watch", cid, "--until-done", timeout=60).returncode == 0
    time.sleep(0.5)
    assert "[text] too late" not in _user_texts(_events(server, cid))


def test_the_readme_table_and_each_verbs_help_agree():
    readme = (ROOT / "README.md").read_text().split("## Headless verbs", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    assert len(rows) >= 10
    for row in rows:
        usage = row.split(" | ")[0]
        verbs = [v.split()[0] for v in usage.strip("| ").split("`") if v.strip() and v.strip() != ","]
        flags = set(re.findall(r"--[a-z][a-z-]+", usage))
        for verb in verbs:
            out = cli(verb, "--help")
            assert out.returncode == 0, f"{verb} --help"
            for flag in flags:
                if verb in ("delete", "rename") or (flag == "--reason" and verb != "reject"):
                    continue
                assert flag in out.stdout, f"the README says `{verb}` takes {flag}; its --help does not"


def test_send_wait_on_a_full_server_says_so_and_keeps_waiting_within_the_timeout():
    # One run at a time: while one conversation runs, the server answers 429 to a second one.
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 4.0, "max_runs": 1}) as full:
        s = ("--server", full.base_url)
        busy, other = new(full), new(full)
        assert cli(*s, "send", busy, "[slow] hold the only slot").returncode == 0
        _until_running(full, busy)
        out = cli(*s, "send", other, "[text] when there is room", "--wait", "--timeout", "60")
        assert out.returncode == 0, out.stderr
        assert "server full" in out.stderr and "waiting" in out.stderr
        assert out.stdout == "Hello from the demo agent. This is a plain text answer.\n"
        assert _user_texts(_events(full, other)) == ["[text] when there is room"], "stored once, never resent"
        # A time limit that runs out while the server is full says the message is stored but not answered.
        assert cli(*s, "send", busy, "[slow] again").returncode == 0
        _until_running(full, busy)
        late = cli(*s, "send", other, "[text] too full", "--wait", "--timeout", "2", "--json")
        assert late.returncode == 124
        assert json.loads(late.stdout)["delivery"] == "stored"
        assert "stored" in late.stderr and "not started" in late.stderr
        # Once the slot is free, resume runs the stored message (once: it is never sent again).
        assert cli(*s, "watch", busy, "--until-done", timeout=60).returncode == 0
        assert cli(*s, "resume", other).returncode == 0
        assert cli(*s, "watch", other, "--until-done", timeout=60).returncode == 0
        events = _events(full, other)
        assert _user_texts(events).count("[text] too full") == 1
        assert events[-1]["kind"] != "MessageEvent" or events[-1]["source"] == "agent"
        assert any(e["kind"] == "MessageEvent" and e["source"] == "agent" for e in events[-4:]), "answered"
        # Creating on a full server waits for a slot too (nothing is stored by a refused create).
        assert cli(*s, "watch", busy, "--until-done", timeout=60).returncode == 0
        assert cli(*s, "send", busy, "[slow] and again").returncode == 0
        _until_running(full, busy)
        created = cli(*s, "new", "--model", "m", "--workdir", "/tmp/w", "[text] hi", "--wait", "--timeout", "60")
        assert created.returncode == 0, created.stderr
        assert "server full" in created.stderr


def test_server_by_configured_name_restricts_search_and_list(server, tmp_path):
    with DemoServer(**FAST_KNOBS) as other:
        (tmp_path / "config.toml").write_text(
            f'[[servers]]\nname = "alpha"\nurl = "{server.base_url}"\n\n'
            f'[[servers]]\nname = "beta"\nurl = "{other.base_url}"\n'
        )
        env = {"OPENHANDS_TUI_CONFIG_DIR": str(tmp_path)}
        here = new(server)
        there = new(other)
        for cid, srv in ((here, server), (there, other)):
            assert cli("--server", srv.base_url, "send", cid, "[text] mention Okapi-9", "--wait").returncode == 0
        both = json.loads(cli("search", "okapi-9", "--json", env=env).stdout)
        assert {f["id"] for f in both} == {here, there} and {f["server"] for f in both} == {"alpha", "beta"}
        only = json.loads(cli("search", "okapi-9", "--server", "beta", "--json", env=env).stdout)
        assert [f["id"] for f in only] == [there]
        listed = cli("list", "--server", "alpha", env=env)
        assert here[:8] in listed.stdout and there[:8] not in listed.stdout
        assert cli("list", "--server", "gamma", env=env).returncode == 2
