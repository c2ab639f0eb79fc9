"""Ready-made conversations: bulk seeded history (benchmarks) and the lively demo set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from . import wire
from .agent import Engine
from .store import FINISHED, Conversation, EventLog, SeedHistory, Store

DEMO_AGENT: dict[str, Any] = {
    "llm": {"model": "demo/scripted", "usage_id": "agent", "api_key": "demo-key"},
    "tools": [{"name": "terminal"}],
}


def _agent(stream: bool = False) -> dict:
    raw = {"llm": {**DEMO_AGENT["llm"], "stream": stream}, "tools": DEMO_AGENT["tools"]}
    return wire.normalize_agent(raw)


def seed_conversations(store: Store, count: int, history: int) -> list[Conversation]:
    """``count`` finished conversations, each with ``history`` generated events (O(1) memory each)."""
    made = []
    now = datetime.now(UTC)
    for i in range(count):
        cid = uuid.uuid4()
        created = now - timedelta(minutes=count - i)
        created_s = created.isoformat().replace("+00:00", "Z")
        conv = Conversation(
            id=cid,
            agent=_agent(),
            workspace={"working_dir": "/workspace/demo", "kind": "LocalWorkspace"},
            persistence_dir=store.persistence_dir_for(cid),
            created_at=created_s,
            title=f"Seeded conversation #{i + 1}",
            status=FINISHED if history else "idle",
        )
        if history:
            conv.seed_count = history
            conv.log = EventLog(SeedHistory(cid, history, created.astimezone().replace(tzinfo=None)))
            conv.system_prompt_sent = True
            conv.user_messages = (history + 2) // 4
            last = conv.log.get(len(conv.log) - 1)
            conv.leaf_event_id = last["id"]
            conv.stats.record(1500, 120, 0.8, "chatcmpl-seed")
        store.add(conv)
        made.append(conv)
    return made


async def demo_seed(store: Store, engine: Engine) -> list[Conversation]:
    """Four conversations so the first screen is alive: finished (tool call), running (long
    streaming answer), waiting for confirmation, errored."""
    specs = [
        ("Tool call demo", False, "[bash] Run echo hello, then finish."),
        ("Streaming a long answer", True, "Write a long markdown report, please."),
        ("Waiting for your confirmation", False, "confirm: clean the build directory"),
        ("An LLM error", False, "This one will end in an error."),
    ]
    made = []
    for title, stream, text in specs:
        cid = uuid.uuid4()
        conv = Conversation(
            id=cid,
            agent=_agent(stream),
            workspace={"working_dir": "/workspace/demo", "kind": "LocalWorkspace"},
            persistence_dir=store.persistence_dir_for(cid),
            title=title,
        )
        store.add(conv)
        await engine.send_message(conv, text, run=True)
        made.append(conv)
    return made
