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

__all__ = ["FAST_KNOBS", "INIT_KEY", "SESSION_KEY", "demo_server", "demo_server_keyed", "dormant_server"]


@pytest.fixture
def demo_server() -> Iterator[DemoServer]:
    """A running demo server without auth."""
    with DemoServer(**FAST_KNOBS) as srv:
        yield srv


@pytest.fixture
def demo_server_keyed() -> Iterator[DemoServer]:
    """A running demo server requiring session key ``test-session-key``."""
    with DemoServer(session_keys=[SESSION_KEY], **FAST_KNOBS) as srv:
        yield srv


@pytest.fixture
def dormant_server() -> Iterator[DemoServer]:
    """A deferred-init (dormant) demo server; ``POST /api/init`` needs ``X-Init-API-Key: test-init-key``."""
    with DemoServer(deferred_init=True, init_key=INIT_KEY, **FAST_KNOBS) as srv:
        yield srv
