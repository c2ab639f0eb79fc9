"""Start the TUI: servers from the arguments, or the embedded demo server when none is configured."""

from __future__ import annotations

import gc
import os
import sys
import threading

from tui.config import ConfigError, Preferences, ServerConfig, config_warnings, resolve_servers, state_dir

EMBEDDED_NAME = "embedded demo"


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
    want_embedded = not servers
    reset = getattr(args, "reset_demo", False)
    _terminal_defaults()
    # Start-up allocates a lot and frees little: collections before the first frame would only walk it (tens of
    # ms). The app turns the collector back on once it has started (`_freeze_heap`).
    gc.disable()
    from tui.app import run_app

    started: dict = {}  # what the factory made, for the clean-up below
    made = threading.Event()  # the factory has returned (or failed)

    def make_fleet():
        # Runs after the first frame (in a thread): the session layer's imports and the demo server's start
        # are what that frame would otherwise wait for.
        started["running"] = True
        try:
            from tui.session import Fleet

            configs = servers
            if want_embedded:
                started["embedded"] = start_embedded_server(state_dir() / "demo-server", reset=reset)
                configs = [ServerConfig(EMBEDDED_NAME, started["embedded"].base_url, embedded=True)]
            started["fleet"] = fleet = Fleet(configs, state_dir=state_dir())
            return fleet
        finally:
            made.set()

    shown = [(EMBEDDED_NAME, True)] if want_embedded else [(cfg.name, False) for cfg in servers]
    options = {
        "state_dir": state_dir(),
        "open_id": getattr(args, "open", None),
        "continue_last": getattr(args, "continue_last", False),
    }
    try:
        code = run_app(make_fleet, Preferences.load(), servers=shown, **options)  # non-zero after a crash
    finally:
        if started.get("running"):
            made.wait(30)  # quit during the start: what the factory starts is stopped below, not left running
        fleet = started.get("fleet")
        if fleet is not None and fleet.state_lock is not None:
            fleet.state_lock.release()
        embedded = started.get("embedded")
        if embedded is not None:
            embedded.stop()
            print(
                "openhands-tui: the embedded demo server stopped with the app; nothing runs until the next start "
                "(its conversations are kept; --reset-demo starts afresh).",
                file=sys.stderr,
            )
    return code
