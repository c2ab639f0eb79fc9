"""Command line for the demo server: ``python -m tui.demo`` and ``openhands-tui demo-server``."""

from __future__ import annotations

import argparse
import os
import sys

from .defaults import DEFAULT_SLOW_SECONDS, DEFAULT_TOKEN_RATE, PROTOCOL_DEFAULT, PROTOCOLS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="port (0 = any free port)")
    parser.add_argument("--persist-dir", default=None, help="keep conversations and events in this directory")
    parser.add_argument(
        "--session-key-env",
        default=None,
        metavar="VAR",
        help="require the session API key held in environment variable VAR",
    )
    parser.add_argument("--deferred-init", action="store_true", help="start dormant until POST /api/init")
    parser.add_argument(
        "--init-key-env",
        default=None,
        metavar="VAR",
        help="the X-Init-API-Key for /api/init, read from environment variable VAR",
    )
    parser.add_argument(
        "--demo-seed",
        action="store_true",
        help="create a few ready-made conversations (finished, running, waiting, error)",
    )
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=DEFAULT_SLOW_SECONDS,
        help="how long a 'slow' reply or a 'slowbash' tool takes",
    )
    parser.add_argument("--token-rate", type=float, default=DEFAULT_TOKEN_RATE, help="streaming deltas per second")
    parser.add_argument("--tool-seconds", type=float, default=0.3, help="how long a normal tool call takes")
    parser.add_argument("--seed-conversations", type=int, default=0, help="pre-seeded finished conversations")
    parser.add_argument("--seed-history", type=int, default=0, help="events in each pre-seeded conversation")
    parser.add_argument(
        "--auth-timeout", type=float, default=10.0, help="seconds a WebSocket may take to send its auth frame"
    )
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=PROTOCOL_DEFAULT,
        help="agent-server version to imitate: 1.58 (1.58.2, default) or 1.43 (1.43.1: no session socket, no run limit)",
    )
    parser.add_argument("--max-runs", type=int, default=10, help="1.58: concurrent runs before answering 429")
    parser.add_argument(
        "--max-frame-bytes",
        type=int,
        default=4 * 1024 * 1024,
        help="session socket: a larger frame closes it (1013 frame_too_large)",
    )
    parser.add_argument(
        "--max-pending-bytes",
        type=int,
        default=16 * 1024 * 1024,
        help="session socket: more bytes queued for a client that does not read close it (1013 slow_consumer)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")


def _env_key(var: str | None, flag: str) -> str | None:
    if not var:
        return None
    value = os.environ.get(var)
    if not value:
        raise SystemExit(f"{flag}: environment variable {var} is not set")
    return value


def run(args: argparse.Namespace) -> int:
    from .server import serve  # FastAPI and uvicorn load only when the server really starts

    session_key = _env_key(args.session_key_env, "--session-key-env")
    init_key = _env_key(args.init_key_env, "--init-key-env")
    try:
        serve(
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            session_keys=[session_key] if session_key else None,
            deferred_init=args.deferred_init,
            init_key=init_key,
            persist_dir=args.persist_dir,
            demo_seed=args.demo_seed,
            slow_seconds=args.slow_seconds,
            token_rate=args.token_rate,
            tool_seconds=args.tool_seconds,
            seed_conversations=args.seed_conversations,
            seed_history=args.seed_history,
            auth_timeout=args.auth_timeout,
            protocol=args.protocol,
            max_runs=args.max_runs,
            max_frame_bytes=args.max_frame_bytes,
            max_pending_bytes=args.max_pending_bytes,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"demo server: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tui.demo", description="Scripted OpenHands agent server (no LLM; runs nothing)."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
