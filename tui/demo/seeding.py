"""Ready-made conversations: bulk seeded history (benchmarks) and the lively demo set."""

from __future__ import annotations

import asyncio
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


CODING_TOOLS = [{"name": "terminal"}, {"name": "file_editor"}, {"name": "task_tracker"}]


def _agent(stream: bool = False, tools: list[dict[str, Any]] | None = None) -> dict:
    raw = {"llm": {**DEMO_AGENT["llm"], "stream": stream}, "tools": tools or DEMO_AGENT["tools"]}
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


CODING_TASK = "[code] Now add a median() helper to stats.py, with tests."


async def demo_seed(store: Store, engine: Engine) -> list[Conversation]:
    """Four conversations so the first screen is alive: a coding session (a tool call, then plan, reasoning,
    file edits, a failing then passing test run), a long streaming answer, one waiting for confirmation, and
    one that errors."""
    specs = [
        ("Tool call demo", False, "[bash] Run echo hello, then finish.", CODING_TOOLS),
        ("Streaming a long answer", True, "Write a long markdown report, please.", None),
        ("Waiting for your confirmation", False, "confirm: clean the build directory", None),
        ("An LLM error", False, "This one will end in an error.", None),
    ]
    made = []
    for title, stream, _text, tools in specs:
        cid = uuid.uuid4()
        conv = Conversation(
            id=cid,
            agent=_agent(stream, tools),
            workspace={"working_dir": "/workspace/project", "kind": "LocalWorkspace"},
            persistence_dir=store.persistence_dir_for(cid),
            title=title,
        )
        conv.quick_failure = True  # seeded: a failing LLM call returns at once
        store.add(conv)
        made.append(conv)
    await asyncio.gather(*(engine.send_message(c, spec[2], run=True) for c, spec in zip(made, specs, strict=True)))
    # The error is there before the first client looks: a conversation in error is listed as such, not
    # announced as something that just went wrong.
    if made[3].run_task is not None:
        await asyncio.wait([made[3].run_task], timeout=5)
    engine.spawn(_second_turn(engine, made[0], CODING_TASK))
    return made


async def _second_turn(engine: Engine, conv: Conversation, text: str) -> None:
    """Send ``text`` once the first turn is over (sent at once it would be answered in the same step)."""
    while conv.running:
        await asyncio.sleep(0.02)
    if not conv.deleted:
        await engine.send_message(conv, text, run=True)
