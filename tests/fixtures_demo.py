"""Pytest fixtures: a running embedded demo server (fast knobs) in a few configurations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tui.demo import DemoServer

SESSION_KEY = "test-session-key"
INIT_KEY = "test-init-key"

# Fast but still ordered: a "slow" reply/tool takes ~1 s, streaming is quick.
FAST_KNOBS = {
    "slow_seconds": 1.0,
    "token_rate": 200.0,
    "tool_seconds": 0.05,
    "llm_seconds": 0.02,
    "title_seconds": 0.05,
    "error_seconds": 0.2,
    "auth_timeout": 1.0,
}

__all__ = [
    "FAST_KNOBS",
    "INIT_KEY",
    "SESSION_KEY",
    "demo_server",
    "demo_server_143",
    "demo_server_keyed",
    "demo_server_keyed_143",
    "dormant_server",
    "dormant_server_143",
    "long_server",
    "start_demo",
]


def start_demo(protocol: str = "1.58", **knobs) -> DemoServer:
    """A started demo server with the fast knobs; ``protocol`` is ``"1.58"`` (default) or ``"1.43"``."""
    return DemoServer(protocol=protocol, **{**FAST_KNOBS, **knobs}).start()


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """A running demo server (1.58.2) without auth."""
    srv = start_demo()
    yield srv
    srv.stop()


@pytest.fixture
def demo_server_143() -> Iterator[DemoServer]:
    """A running demo server imitating 1.43.1, without auth."""
    srv = start_demo("1.43")
    yield srv
    srv.stop()


@pytest.fixture
def demo_server_keyed() -> Iterator[DemoServer]:
    """A running demo server (1.58.2) requiring session key ``test-session-key``."""
    srv = start_demo(session_keys=[SESSION_KEY])
    yield srv
    srv.stop()


@pytest.fixture
def demo_server_keyed_143() -> Iterator[DemoServer]:
    """A running 1.43.1 demo server requiring session key ``test-session-key``."""
    srv = start_demo("1.43", session_keys=[SESSION_KEY])
    yield srv
    srv.stop()


@pytest.fixture
def dormant_server() -> Iterator[DemoServer]:
    """A deferred-init (dormant) 1.58.2 demo server; ``POST /api/init`` needs ``X-Init-API-Key: test-init-key``."""
    srv = start_demo(deferred_init=True, init_key=INIT_KEY)
    yield srv
    srv.stop()


@pytest.fixture
def dormant_server_143() -> Iterator[DemoServer]:
    """A dormant 1.43.1 demo server (accepts a WebSocket, then drops it)."""
    srv = start_demo("1.43", deferred_init=True, init_key=INIT_KEY)
    yield srv
    srv.stop()


@pytest.fixture
def long_server():
    """One seeded conversation of 3,000 events (long-history paging, search, jumps)."""
    with DemoServer(seed_conversations=1, seed_history=3000, **FAST_KNOBS) as srv:
        yield srv
