"""Start the TUI: servers from the arguments, or the embedded demo server when none is configured."""

from __future__ import annotations

import os
import sys

from tui.config import ConfigError, Preferences, ServerConfig, config_warnings, resolve_servers, state_dir


def _terminal_defaults() -> None:
    # Read by Textual at import time. Over SSH fewer frames per second halve the bytes and the CPU.
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        os.environ.setdefault("TEXTUAL_FPS", "30")


def start_embedded_server(persist_dir=None, *, reset: bool = False):
    """The demo server in a background thread of this process, on a free loopback port; its conversations are
    kept in `persist_dir` between runs (`reset` starts it empty, then seeded again)."""
    import shutil

    from tui.demo.server import DemoServer

    if reset and persist_dir is not None:
        shutil.rmtree(persist_dir, ignore_errors=True)
    server = DemoServer(port=0, demo_seed=True, persist_dir=persist_dir)
    server.start()
    return server


def run_tui(args) -> int:
    try:
        servers = resolve_servers(
            args.server, args.session_key_env, server_key_envs=getattr(args, "server_key_envs", None)
        )
        for warning in config_warnings():
            print(f"openhands-tui: warning: {warning}", file=sys.stderr)
    except ConfigError as error:
        print(f"openhands-tui: {error}", file=sys.stderr)
        return 2
    embedded = None
    if not servers:
        embedded = start_embedded_server(state_dir() / "demo-server", reset=getattr(args, "reset_demo", False))
        servers = [ServerConfig("embedded demo", embedded.base_url, embedded=True)]
    _terminal_defaults()
    from tui.app import run_app
    from tui.session import Fleet

    fleet = Fleet(servers, state_dir=state_dir())
    options = {
        "state_dir": state_dir(),
        "open_id": getattr(args, "open", None),
        "continue_last": getattr(args, "continue_last", False),
    }
    try:
        code = run_app(fleet, Preferences.load(), **options)  # non-zero after a crash
    finally:
        if fleet.state_lock is not None:
            fleet.state_lock.release()
        if embedded is not None:
            embedded.stop()
            print(
                "openhands-tui: the embedded demo server stopped with the app; nothing runs until the next start "
                "(its conversations are kept; --reset-demo starts afresh).",
                file=sys.stderr,
            )
    return code
