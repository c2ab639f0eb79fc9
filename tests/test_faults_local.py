"""Local safety: one TLS trust store for REST and the socket (a CA named by SSL_CERT_FILE is trusted by both, or
neither), state and preferences created for the owner only, a warning for a key in a config file others can
read, a clear error (not a traceback) for a key with stray whitespace."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import stat
import subprocess

import pytest
from websockets.asyncio.server import serve

from tests.hostile import HostileHTTP, Request, response
from tui.client import AgentClient, Connected, Disconnected, EventStream, Unreachable
from tui.config import ConfigError, Preferences, resolve_servers
from tui.session import OutboxStore

CID = "3f2b8a8e-5a1d-4c4e-9a7e-1b2c3d4e5f60"


def make_ca(tmp_path):
    """A CA and a certificate for 127.0.0.1 signed by it (openssl command line)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "srv.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "srv.pem", tmp_path / "srv.key")
    return tmp_path / "ca.pem", context


async def first_item(stream: EventStream):
    async for item in stream:
        if isinstance(item, (Connected, Disconnected)):
            return item
    return None


@pytest.mark.timeout(60)
async def test_rest_and_socket_trust_the_same_store(tmp_path, monkeypatch):
    ca, server_context = make_ca(tmp_path)

    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, 3))

    async def handler(ws) -> None:
        await ws.wait_closed()

    ws_server = await serve(handler, "127.0.0.1", 0, ssl=server_context)
    async with ws_server, HostileHTTP(answer, ssl=server_context) as rest:
        ws_url = f"https://127.0.0.1:{ws_server.sockets[0].getsockname()[1]}"
        results = {}
        for trusted in (False, True):
            if trusted:
                monkeypatch.setenv("SSL_CERT_FILE", str(ca))
            else:
                monkeypatch.delenv("SSL_CERT_FILE", raising=False)
            async with AgentClient(rest.base_url, timeout=5) as client:
                try:
                    rest_ok = await client.count_conversations() == 3
                except Unreachable as error:
                    assert "TLS" in error.message or "certificate" in error.message.lower()
                    rest_ok = False
            stream = EventStream(ws_url, CID, initial_backoff=0.05)
            item = await asyncio.wait_for(first_item(stream), 20)
            await stream.close()
            results[trusted] = (rest_ok, isinstance(item, Connected))
    assert results[False] == (False, False), "an unknown CA was trusted"
    assert results[True] == (True, True), "REST and the socket disagree about a CA in SSL_CERT_FILE"


def test_state_and_preferences_are_private(tmp_path, monkeypatch):
    from tui.session.state_lock import lock_state_dir

    state = tmp_path / "state"
    monkeypatch.setenv("OPENHANDS_TUI_STATE_DIR", str(state))
    Preferences(theme="x").save()
    lock = lock_state_dir(state)
    store = OutboxStore(state / "outbox", lock=lock)
    from tui.session import Outbox

    Outbox(store, "http://h:1", "c1").add("hello")
    try:
        for path in (state, state / "outbox"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        for path in (state / "preferences.json", store.path_for("http://h:1", "c1"), state / "lock"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        lock.release()


def test_a_literal_key_in_a_readable_config_file_is_warned_about(tmp_path):
    from tui.config import config_warnings

    path = tmp_path / "config.toml"
    path.write_text('[[servers]]\nurl = "http://127.0.0.1:8000"\nsession_key = "sk-literal-123456"\n')
    os.chmod(path, 0o644)
    warnings = config_warnings(path)
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and "sk-literal" not in warnings[0]
    os.chmod(path, 0o600)
    assert config_warnings(path) == []
    path.write_text('[[servers]]\nurl = "http://127.0.0.1:8000"\nsession_key_env = "OH_KEY"\n')
    os.chmod(path, 0o644)
    assert config_warnings(path) == []


@pytest.mark.parametrize("key", ["sk-key-123456\n", " sk-key-123456", "sk-key 123456", ""])
def test_a_key_with_stray_whitespace_is_a_clear_error(key, tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as caught:
        resolve_servers(["http://127.0.0.1:8000"], "OH_KEY", env={"OH_KEY": key})
    assert "OH_KEY" in str(caught.value) and (key.strip() not in str(caught.value) or not key.strip())
    monkeypatch.setenv("OH_KEY", key)
    monkeypatch.setenv("OPENHANDS_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OPENHANDS_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    from tui.launch import run_tui

    class Args:
        server = ["http://127.0.0.1:8000"]
        session_key_env = "OH_KEY"

    assert run_tui(Args()) == 2  # said on stderr, no traceback, the app not started
