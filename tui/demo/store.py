"""Conversation state, event logs (with an id index), and persistence to a directory."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import wire
from .scenarios import Step

IDLE, RUNNING, PAUSED, WAITING, FINISHED, ERROR, STUCK = (
    "idle",
    "running",
    "paused",
    "waiting_for_confirmation",
    "finished",
    "error",
    "stuck",
)
STATUSES = (IDLE, RUNNING, PAUSED, WAITING, FINISHED, ERROR, STUCK)


# ---------------------------------------------------------------- stats


class Stats:
    """``ConversationStats`` for one usage id, in the real ``usage_to_metrics`` shape."""

    CONTEXT_WINDOW = 200000

    def __init__(self, model: str, usage_id: str) -> None:
        self.model = model
        self.usage_id = usage_id
        self.prompt = 0
        self.completion = 0
        self.cache_read = 0
        self.cost = 0.0
        self.per_turn = 0
        self.costs: list[dict[str, Any]] = []
        self.latencies: list[dict[str, Any]] = []
        self.usages: list[dict[str, Any]] = []

    def record(self, prompt: int, completion: int, latency: float, response_id: str) -> None:
        cache_read = (prompt // 2) if self.usages else 0
        cost = round(prompt * 3e-6 + completion * 15e-6 - cache_read * 2.7e-6, 6)
        self.prompt += prompt
        self.completion += completion
        self.cache_read += cache_read
        self.cost = round(self.cost + cost, 6)
        self.per_turn = prompt + completion
        now = datetime.now().timestamp()
        self.costs.append({"model": self.model, "cost": cost, "timestamp": now})
        self.latencies.append({"model": self.model, "latency": latency, "response_id": response_id})
        self.usages.append(self._usage(prompt, completion, cache_read, prompt + completion, response_id))

    def _usage(self, prompt: int, completion: int, cache_read: int, per_turn: int, response_id: str) -> dict:
        return {
            "model": self.model,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
            "context_window": self.CONTEXT_WINDOW,
            "per_turn_token": per_turn,
            "response_id": response_id,
        }

    def _snapshot_metrics(self) -> dict[str, Any]:
        return {
            "model_name": self.model,
            "accumulated_cost": self.cost,
            "max_budget_per_task": None,
            "accumulated_token_usage": self._usage(self.prompt, self.completion, self.cache_read, self.per_turn, ""),
        }

    def snapshot(self) -> dict[str, Any]:
        """Value of a per-field ``stats`` update (MetricsSnapshot, nulls kept)."""
        if not self.usages:
            return {"usage_to_metrics": {}}
        return {"usage_to_metrics": {self.usage_id: self._snapshot_metrics()}}

    def full(self) -> dict[str, Any]:
        """``ConversationInfo.stats`` / ``full_state.value.stats`` (full Metrics)."""
        if not self.usages:
            return {"usage_to_metrics": {}}
        metrics = self._snapshot_metrics()
        metrics.update(costs=list(self.costs), response_latencies=list(self.latencies), token_usages=list(self.usages))
        return {"usage_to_metrics": {self.usage_id: metrics}}

    def to_json(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "model",
                "usage_id",
                "prompt",
                "completion",
                "cache_read",
                "cost",
                "per_turn",
                "costs",
                "latencies",
                "usages",
            )
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        stats = cls(data["model"], data["usage_id"])
        for key, value in data.items():
            setattr(stats, key, value)
        return stats


# ---------------------------------------------------------------- event log


class SeedHistory:
    """A long pre-seeded history, generated on demand (no memory per event).

    Event ``i`` has id ``<prefix>-<i as 12 hex>`` so an id maps back to its position in O(1).
    """

    PATTERN = ("user", "action", "observation", "agent")

    def __init__(self, conversation_id: uuid.UUID, count: int, end: datetime) -> None:
        h = conversation_id.hex
        self.prefix = f"{h[:8]}-5eed-4{h[9:12]}-8{h[13:16]}-"
        self.count = count
        self.start = end - timedelta(milliseconds=10 * (count + 1))

    def id_of(self, i: int) -> str:
        return f"{self.prefix}{i:012x}"

    def position(self, event_id: str) -> int | None:
        if not event_id.startswith(self.prefix) or len(event_id) != len(self.prefix) + 12:
            return None
        try:
            i = int(event_id[len(self.prefix) :], 16)
        except ValueError:
            return None
        return i if 0 <= i < self.count else None

    def timestamp(self, i: int) -> str:
        return (self.start + timedelta(milliseconds=10 * i)).isoformat()

    def _role(self, i: int) -> str:
        return "system" if i == 0 else self.PATTERN[(i - 1) % 4]

    def kind_source(self, i: int) -> tuple[str, str]:
        return {
            "system": ("SystemPromptEvent", "agent"),
            "user": ("MessageEvent", "user"),
            "action": ("ActionEvent", "agent"),
            "observation": ("ObservationEvent", "environment"),
            "agent": ("MessageEvent", "agent"),
        }[self._role(i)]

    def text(self, i: int) -> str:
        turn = (i - 1) // 4
        role = self._role(i)
        if role == "user":
            return f"Seeded request #{turn}: please check item {turn}."
        if role == "agent":
            return f"Seeded answer #{turn}: item {turn} looks fine."
        return ""

    def event(self, i: int) -> dict[str, Any]:
        role = self._role(i)
        parent = self.id_of(i - 1) if i > 0 else None
        if role == "system":
            ev = wire.system_prompt_event(["terminal"])
        elif role in ("user", "agent"):
            ev = wire.message_event(
                "user" if role == "user" else "agent",
                self.text(i),
                parent,
                llm_response_id=f"chatcmpl-seed{i:08x}" if role == "agent" else None,
            )
        elif role == "action":
            turn = (i - 1) // 4
            ev = wire.action_event(
                "terminal",
                {
                    "command": f"echo item {turn}",
                    "is_input": False,
                    "timeout": None,
                    "reset": False,
                    "kind": "TerminalAction",
                },
                json.dumps({"command": f"echo item {turn}", "summary": "check item"}),
                "check item",
                parent,
                f"chatcmpl-seed{i:08x}",
            )
            ev["tool_call_id"] = ev["tool_call"]["id"] = f"call_seed{i:08x}"
        else:
            turn = (i - 1) // 4
            action = {"id": self.id_of(i - 1), "tool_name": "terminal", "tool_call_id": f"call_seed{i - 1:08x}"}
            ev = wire.observation_event(
                action,
                wire.terminal_observation(
                    f"echo item {turn}", f"item {turn}", "/workspace/demo", "/workspace/demo/.conversations"
                ),
            )
        ev["id"] = self.id_of(i)
        ev["timestamp"] = self.timestamp(i)
        return ev


class EventLog:
    """Persisted events in log order: an optional generated prefix, then live events.

    ``position(id)`` is O(1), so paging with ``page_id`` costs O(limit).
    """

    def __init__(self, seed: SeedHistory | None = None) -> None:
        self.seed = seed
        self.seeded = seed.count if seed else 0
        self.live: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def __len__(self) -> int:
        return self.seeded + len(self.live)

    def append(self, event: dict[str, Any]) -> None:
        self.index[event["id"]] = len(self.live)
        self.live.append(event)

    def get(self, pos: int) -> dict[str, Any]:
        if pos < self.seeded:
            assert self.seed is not None
            return self.seed.event(pos)
        return self.live[pos - self.seeded]

    def position(self, event_id: str) -> int | None:
        live = self.index.get(event_id)
        if live is not None:
            return self.seeded + live
        return self.seed.position(event_id) if self.seed else None

    def kind_source_ts(self, pos: int) -> tuple[str, str, str]:
        if pos < self.seeded:
            assert self.seed is not None
            kind, source = self.seed.kind_source(pos)
            return kind, source, self.seed.timestamp(pos)
        ev = self.live[pos - self.seeded]
        return ev["kind"], ev["source"], ev["timestamp"]

    def body_text(self, pos: int) -> str:
        if pos < self.seeded:
            assert self.seed is not None
            return self.seed.text(pos)
        return wire.message_text(self.live[pos - self.seeded])

    def live_events(self) -> Iterator[dict[str, Any]]:
        return iter(self.live)


@dataclass
class EventFilter:
    kind: str | None = None
    source: str | None = None
    body: str | None = None
    ts_gte: str | None = None
    ts_lt: str | None = None

    def empty(self) -> bool:
        return not (self.kind or self.source or self.body or self.ts_gte or self.ts_lt)

    def matches(self, log: EventLog, pos: int) -> bool:
        kind, source, ts = log.kind_source_ts(pos)
        if self.kind is not None and wire.KIND_PATHS.get(kind) != self.kind:
            return False
        if self.source is not None and source != self.source:
            return False
        if self.ts_gte is not None and ts < self.ts_gte:
            return False
        if self.ts_lt is not None and ts >= self.ts_lt:
            return False
        if self.body is not None:
            if kind != "MessageEvent" or self.body.lower() not in log.body_text(pos).lower():
                return False
        return True


def search_events(
    log: EventLog, flt: EventFilter, page_id: str | None, limit: int, descending: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching events and the id of the first event of the next page."""
    n = len(log)
    if page_id:
        start = log.position(page_id)
        if start is None:
            return [], None
    else:
        start = n - 1 if descending else 0
    step = -1 if descending else 1
    stop = -1 if descending else n
    items: list[dict[str, Any]] = []
    for pos in range(start, stop, step):
        if flt.empty() or flt.matches(log, pos):
            if len(items) == limit:
                return items, log.get(pos)["id"]
            items.append(log.get(pos))
    return items, None


def count_events(log: EventLog, flt: EventFilter) -> int:
    if flt.empty():
        return len(log)
    return sum(1 for pos in range(len(log)) if flt.matches(log, pos))


# ---------------------------------------------------------------- conversation


@dataclass
class Conversation:
    id: uuid.UUID
    agent: dict[str, Any]
    workspace: dict[str, Any]
    persistence_dir: str
    created_at: str = field(default_factory=wire.utc_now)
    updated_at: str = ""
    title: str | None = None
    autotitle: bool = True
    status: str = IDLE
    confirmation_policy: dict[str, Any] = field(default_factory=lambda: {"kind": "NeverConfirm"})
    security_analyzer: Any = None
    max_iterations: int = 500
    stuck_detection: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    last_user_message_id: str | None = None
    leaf_event_id: str | None = None
    system_prompt_sent: bool = False
    user_messages: int = 0
    pending: list[str] = field(default_factory=list)  # user texts no LLM call has seen yet
    seed_count: int = 0
    # 1.58 `runtime_info`: a local runtime is always available; a test may take it away (as a remote runtime
    # that died would) and a reprovision brings it back.
    runtime: dict[str, Any] = field(default_factory=lambda: dict(wire.RUNTIME_AVAILABLE))
    stats: Stats = field(default=None)  # type: ignore[assignment]
    log: EventLog = field(default=None)  # type: ignore[assignment]
    # run-time only
    subscribers: set[asyncio.Queue] = field(default_factory=set)
    session_channels: set[Any] = field(default_factory=set)  # SessionChannel, one per session socket
    run_task: asyncio.Task | None = None
    phase: str | None = None  # "llm" or "tool" while a run is in an LLM call / a step
    in_flight: list[str] = field(default_factory=list)  # user texts the current LLM call consumed
    current_action: dict[str, Any] | None = None
    plan: list[Step] = field(default_factory=list)
    waiting_actions: list[tuple[dict[str, Any], Any]] = field(default_factory=list)  # (action, step)
    step_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    deleted: bool = False
    stream_slot: Any = None  # agent.StreamSlot of the LLM call under way
    files: dict[str, str] = field(default_factory=dict)  # files the scripted agent wrote (absolute path -> text)
    originals: dict[str, str | None] = field(default_factory=dict)  # their content before the first edit
    parent_conversation_id: str | None = None
    forked_from_conversation_id: str | None = None
    legacy: bool = False  # shapes of 1.43.1 (set by the store)
    quick_failure: bool = False  # a failing LLM call returns at once (the seeded error conversation)
    first_user_text: str = ""
    title_pending: bool = False  # the auto-title call has not been accounted yet
    on_persist: Callable[[Conversation, dict[str, Any] | None], None] | None = None

    def __post_init__(self) -> None:
        if not self.updated_at:
            self.updated_at = self.created_at
        llm = self.agent.get("llm") or {}
        if self.stats is None:
            self.stats = Stats(llm.get("model") or "unknown", llm.get("usage_id") or "default")
        if self.log is None:
            self.log = EventLog()

    @property
    def id_str(self) -> str:
        return str(self.id)

    @property
    def streaming(self) -> bool:
        return bool((self.agent.get("llm") or {}).get("stream"))

    @property
    def running(self) -> bool:
        return self.run_task is not None and not self.run_task.done()

    # ------------------------------------------------------------ emitting

    def broadcast(self, event: dict[str, Any], seq: int | None = None) -> None:
        """To the events sockets as is; to the session sockets as ``durable`` (with ``seq``) or ``transient``.
        Legacy streaming deltas go to the events sockets only (session sockets get :meth:`progress` frames)."""
        if not (self.subscribers or self.session_channels):
            return
        on_wire = wire.event_for_wire(event)
        if self.subscribers:
            frame = json.dumps(on_wire)
            for queue in list(self.subscribers):
                queue.put_nowait(frame)
        if event["kind"] == "StreamingDeltaEvent" or not self.session_channels:
            return
        if seq is None:
            envelope = json.dumps({"type": "transient", "event": on_wire})
        else:
            envelope = json.dumps({"type": "durable", "seq": seq, "event": on_wire})
        for channel in list(self.session_channels):  # serialized once for all of them
            channel.publish(seq, envelope)

    def progress(self, frame: dict[str, Any]) -> None:
        """An ``item_started`` / ``delta`` / ``item_aborted`` frame: session sockets only, never stored."""
        if self.session_channels:
            text = json.dumps(frame)
            for channel in list(self.session_channels):
                channel.publish(None, text)

    def emit(self, event: dict[str, Any], persist: bool = True) -> dict[str, Any]:
        """Append ``event`` to the log (unless transient) and push it to every subscriber."""
        seq = None
        if persist:
            self.log.append(event)
            seq = len(self.log) - 1
            if event["kind"] != "ConversationStateUpdateEvent":
                self.leaf_event_id = event["id"]
                self.updated_at = wire.utc_now()
            if self.on_persist:
                self.on_persist(self, event)
        self.broadcast(event, seq)
        return event

    def set_status(self, status: str) -> None:
        self.status = status
        self.emit(wire.state_update("execution_status", status, self.leaf_event_id))
        self.save_meta()

    def emit_stats(self) -> None:
        self.emit(wire.state_update("stats", self.stats.snapshot(), self.leaf_event_id))

    def emit_full_state(self) -> None:
        self.emit(wire.state_update("full_state", self.full_state(), None), persist=False)

    def save_meta(self) -> None:
        if self.on_persist:
            self.on_persist(self, None)

    # ------------------------------------------------------------ views

    def full_state(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "id": self.id_str,
            "agent": wire.agent_for_ws(self.agent, self.legacy),
            "workspace": self.workspace,
            "persistence_dir": self.persistence_dir,
            "max_iterations": self.max_iterations,
            "stuck_detection": self.stuck_detection,
            "execution_status": self.status,
            "confirmation_policy": self.confirmation_policy,
            "security_analyzer": self.security_analyzer,
            "activated_knowledge_skills": [],
            "activated_path_rules": [],
            "invoked_skills": [],
            "blocked_actions": {},
            "blocked_messages": {},
            "last_user_message_id": self.last_user_message_id,
            "leaf_event_id": self.leaf_event_id,
            "head_is_empty": len(self.log) == 0,
            "stats": self.stats.full(),
            "secret_registry": {"secret_sources": {}},
            "tags": self.tags,
            "agent_state": {},
        }
        return wire.strip_none(value)

    def rest_status(self) -> str:
        """1.58's REST keeps saying ``running`` after ``/pause`` while the LLM call is still under way."""
        if not self.legacy and self.status == PAUSED and self.running and self.phase == "llm":
            return RUNNING
        return self.status

    def info(self, sub_conversation_ids: list[str] | None = None) -> dict[str, Any]:
        """REST ``ConversationInfo`` (nulls kept, api_key null, with title and times)."""
        info = {
            "id": self.id_str,
            "workspace": self.workspace,
            "persistence_dir": self.persistence_dir,
            "max_iterations": self.max_iterations,
            "stuck_detection": self.stuck_detection,
            "execution_status": self.rest_status(),
            "confirmation_policy": self.confirmation_policy,
            "security_analyzer": self.security_analyzer,
            "activated_knowledge_skills": [],
            "invoked_skills": [],
            "blocked_actions": {},
            "blocked_messages": {},
            "last_user_message_id": self.last_user_message_id,
            "leaf_event_id": self.leaf_event_id,
            "stats": self.stats.full(),
            "secret_registry": {"secret_sources": {}},
            "agent_state": {},
            "hook_config": None,
            "title": self.title,
            "metrics": None,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "forked_from_conversation_id": self.forked_from_conversation_id,
            "forked_from_event_id": None,
            "parent_conversation_id": self.parent_conversation_id,
            "sub_conversation_ids": sub_conversation_ids or [],
            "tags": self.tags,
            "current_model_id": None,
            "available_models": [],
            "supports_runtime_model_switch": False,
            "launched_agent_profile": None,
            "agent": wire.agent_for_rest(self.agent, self.legacy),
            "client_tools": [],
        }
        if not self.legacy:
            tools = [t.get("name") for t in self.agent.get("tools") or []]
            info["runtime_info"] = dict(self.runtime)
            info["tool_module_qualnames"] = {t: wire.TOOL_MODULES[t] for t in tools if t in wire.TOOL_MODULES}
        return info

    def meta(self) -> dict[str, Any]:
        return {
            "id": self.id_str,
            "agent": self.agent,
            "workspace": self.workspace,
            "persistence_dir": self.persistence_dir,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "title": self.title,
            "autotitle": self.autotitle,
            "status": self.status,
            "confirmation_policy": self.confirmation_policy,
            "security_analyzer": self.security_analyzer,
            "max_iterations": self.max_iterations,
            "stuck_detection": self.stuck_detection,
            "tags": self.tags,
            "last_user_message_id": self.last_user_message_id,
            "leaf_event_id": self.leaf_event_id,
            "system_prompt_sent": self.system_prompt_sent,
            "user_messages": self.user_messages,
            "pending": self.pending,
            "seed_count": self.seed_count,
            "stats": self.stats.to_json(),
            "parent_conversation_id": self.parent_conversation_id,
            "forked_from_conversation_id": self.forked_from_conversation_id,
            "files": self.files,
            "originals": self.originals,
        }


# ---------------------------------------------------------------- store


class Store:
    """All conversations, optionally persisted under ``persist_dir``.

    Layout: ``<persist_dir>/conversations/<hex id>/meta.json`` (rewritten on status/title changes)
    and ``events.jsonl`` (one persisted event per line, appended as emitted).
    """

    def __init__(self, persist_dir: str | Path | None = None, legacy: bool = False) -> None:
        self.legacy = legacy
        self.conversations: dict[uuid.UUID, Conversation] = {}
        self.root = Path(persist_dir) if persist_dir else None
        self._files: dict[uuid.UUID, Any] = {}
        self.closing = False

    def persistence_dir_for(self, cid: uuid.UUID) -> str:
        if self.root:
            return str(self.root / "conversations" / cid.hex)
        return f"workspace/conversations/{cid.hex}"

    def add(self, conv: Conversation) -> None:
        conv.legacy = self.legacy
        self.conversations[conv.id] = conv
        if self.root:
            conv.on_persist = self._persist
            conv.save_meta()

    def get(self, cid: uuid.UUID) -> Conversation | None:
        return self.conversations.get(cid)

    def info(self, conv: Conversation) -> dict[str, Any]:
        """``ConversationInfo`` with the children this server knows (in creation order)."""
        children = [c for c in self.conversations.values() if c.parent_conversation_id == conv.id_str]
        children.sort(key=lambda c: c.created_at)
        return conv.info([c.id_str for c in children])

    def remove(self, conv: Conversation) -> None:
        self.conversations.pop(conv.id, None)
        conv.deleted = True
        conv.on_persist = None
        fh = self._files.pop(conv.id, None)
        if fh:
            fh.close()
        if self.root:
            shutil.rmtree(self.root / "conversations" / conv.id.hex, ignore_errors=True)

    # ------------------------------------------------------------ persistence

    def _persist(self, conv: Conversation, event: dict[str, Any] | None) -> None:
        if self.closing or conv.deleted or not self.root:
            return
        folder = self.root / "conversations" / conv.id.hex
        if event is None:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / "meta.json.tmp"
            tmp.write_text(json.dumps(conv.meta()))
            tmp.replace(folder / "meta.json")
            return
        fh = self._files.get(conv.id)
        if fh is None:
            folder.mkdir(parents=True, exist_ok=True)
            fh = self._files[conv.id] = open(folder / "events.jsonl", "a", encoding="utf-8")
        fh.write(json.dumps(event) + "\n")
        fh.flush()

    def close(self) -> None:
        self.closing = True
        for conv in self.conversations.values():
            if self.root and conv.on_persist:
                # one last meta write so titles/stats changed without a status change are kept
                self.closing = False
                conv.save_meta()
                self.closing = True
        for fh in self._files.values():
            fh.close()
        self._files.clear()

    def load(self) -> list[Conversation]:
        """Load persisted conversations. Ones that were running come back as ``error``."""
        if not self.root or not (self.root / "conversations").is_dir():
            return []
        loaded = []
        for folder in sorted((self.root / "conversations").iterdir()):
            meta_file = folder / "meta.json"
            if not meta_file.is_file():
                continue
            try:
                meta = json.loads(meta_file.read_text())
            except (OSError, ValueError):
                continue
            conv = self._from_meta(meta)
            events_file = folder / "events.jsonl"
            if events_file.is_file():
                with events_file.open(encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            conv.log.append(json.loads(line))
                        except ValueError:
                            continue  # a torn last line after a crash
            self.conversations[conv.id] = conv
            conv.on_persist = self._persist
            if conv.status in (RUNNING,):
                self._recover_crashed(conv)
            loaded.append(conv)
        return loaded

    def _from_meta(self, meta: dict[str, Any]) -> Conversation:
        cid = uuid.UUID(meta["id"])
        seed_count = meta.get("seed_count", 0)
        created = meta["created_at"]
        conv = Conversation(
            id=cid,
            agent=meta["agent"],
            workspace=meta["workspace"],
            persistence_dir=meta["persistence_dir"],
            created_at=created,
            updated_at=meta["updated_at"],
            title=meta.get("title"),
            autotitle=meta.get("autotitle", True),
            status=meta["status"],
            confirmation_policy=meta["confirmation_policy"],
            security_analyzer=meta.get("security_analyzer"),
            max_iterations=meta["max_iterations"],
            stuck_detection=meta["stuck_detection"],
            tags=meta["tags"],
            last_user_message_id=meta.get("last_user_message_id"),
            leaf_event_id=meta.get("leaf_event_id"),
            system_prompt_sent=meta.get("system_prompt_sent", False),
            user_messages=meta.get("user_messages", 0),
            pending=meta.get("pending", []),
            seed_count=seed_count,
            stats=Stats.from_json(meta["stats"]),
            parent_conversation_id=meta.get("parent_conversation_id"),
            forked_from_conversation_id=meta.get("forked_from_conversation_id"),
            files=meta.get("files", {}),
            originals=meta.get("originals", {}),
            legacy=self.legacy,
        )
        if seed_count:
            conv.log = EventLog(SeedHistory(cid, seed_count, _parse_utc(created)))
        return conv

    def _recover_crashed(self, conv: Conversation) -> None:
        """What the real server does on restart: error status, AgentErrorEvent per unmatched action."""
        answered = set()
        actions = []
        for ev in conv.log.live_events():
            if ev["kind"] == "ActionEvent" and ev.get("tool_name") != "finish":
                actions.append(ev)
            elif ev["kind"] in ("ObservationEvent", "AgentErrorEvent", "UserRejectObservation"):
                answered.add(ev.get("tool_call_id"))
        for action in actions:
            if action["tool_call_id"] not in answered:
                conv.emit(
                    wire.agent_error_event(
                        action,
                        wire.RESTART_TOOL_ERROR,
                        {"kind": "internal", "retryable": False, "user_action": "none"},
                        action["id"],
                    )
                )
        conv.set_status(ERROR)


def _parse_utc(value: str) -> datetime:
    """A ``...Z`` UTC string as naive local time (event timestamps are naive local)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.astimezone().replace(tzinfo=None)
