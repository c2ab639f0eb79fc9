"""Each --session-key-env applies to the --server before it; one given before any --server applies to all."""

from __future__ import annotations

from tests.fixtures_demo import start_demo
from tests.test_cli import cli
from tui.cli import build_parser
from tui.config import resolve_servers

ENV = {"KA": "key-a", "KB": "key-b", "KALL": "key-all"}


def resolved(*argv: str):
    args = build_parser().parse_args(list(argv))
    servers = resolve_servers(args.server, args.session_key_env, env=ENV, server_key_envs=args.server_key_envs)
    return [(s.url, s.session_key, s.session_key_env) for s in servers]


def test_each_key_belongs_to_the_server_before_it():
    got = resolved(
        "--server",
        "http://a:1",
        "--session-key-env",
        "KA",
        "--server",
        "http://b:2",
        "--server",
        "http://c:3",
        "--session-key-env",
        "KB",
    )
    assert got == [("http://a:1", "key-a", "KA"), ("http://b:2", None, None), ("http://c:3", "key-b", "KB")]


def test_a_key_before_any_server_applies_to_all_that_have_none():
    got = resolved(
        "--session-key-env", "KALL", "--server", "http://a:1", "--server", "http://b:2", "--session-key-env", "KB"
    )
    assert got == [("http://a:1", "key-all", "KALL"), ("http://b:2", "key-b", "KB")]


def test_two_servers_with_different_keys_both_answer():
    first = start_demo(session_keys=["key-a"])
    second = start_demo(session_keys=["key-b"])
    try:
        out = cli(
            "--server",
            first.base_url,
            "--session-key-env",
            "KA",
            "--server",
            second.base_url,
            "--session-key-env",
            "KB",
            "list",
            env=ENV,
        )
        assert out.returncode == 0, out.stderr
        assert "unauthorized" not in (out.stdout + out.stderr).lower()
    finally:
        first.stop()
        second.stop()
