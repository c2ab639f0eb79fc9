"""Start the TUI: servers from the arguments, or the embedded demo server when none is configured."""

from __future__ import annotations

import os
import sys

from tui.config import ConfigError, Preferences, ServerConfig, config_warnings, resolve_servers, state_dir


def _terminal_defaults() -> None:
    # Read by Textual at import time. Over SSH fewer frames per second halve the bytes and the CPU.
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        os.environ.setdefault("TEXTUAL_FPS", "30")


def start_embedded_server():
    """The demo server in a background thread of this process, on a free loopback port."""
    from tui.demo.server import DemoServer

    server = DemoServer(port=0, demo_seed=True)
    server.start()
    return server


def run_tui(args) -> int:
    try:
        servers = resolve_servers(args.server, args.session_key_env)
        for warning in config_warnings():
            print(f"openhands-tui: warning: {warning}", file=sys.stderr)
    except ConfigError as error:
        print(f"openhands-tui: {error}", file=sys.stderr)
        return 2
    embedded = None
    if not servers:
        embedded = start_embedded_server()
        servers = [ServerConfig("embedded demo", embedded.base_url, embedded=True)]
    _terminal_defaults()
    from tui.app import run_app
    from tui.session import Fleet

    fleet = Fleet(servers, state_dir=state_dir())
    try:
        return run_app(fleet, Preferences.load())  # non-zero after a crash
    finally:
        if fleet.state_lock is not None:
            fleet.state_lock.release()
        if embedded is not None:
            embedded.stop()
