"""Events grouped into the blocks the log shows. Pure: no Rich, no Textual, no clock.

One block per tool call (the action with its observation, error or rejection, paired by tool call id or action
id), one plan per conversation (the latest `task_tracker` list, updated in place), the `finish` message as the
agent's answer, reasoning as its own block, identical errors in a row merged with a count, and one footer per turn
(its duration, cost, tokens and tool calls, from the events' own timestamps and `stats` updates) in place of the
status dividers. A user's interrupt or pause marks the turn's footer ("interrupted by you") instead of showing an
agent error.

`Transcript.add(events)` returns the new blocks and the already-held blocks that changed (an observation landed in
its tool block, an error's count went up, the plan was updated): the log mounts the first and repaints the second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tui import protocol
from tui.protocol import ExecutionStatus, UsageTotals

from . import render

if TYPE_CHECKING:
    from tui.protocol import (
        ActionEvent,
        AgentErrorEvent,
        ConversationStateUpdateEvent,
        Event,
        MessageEvent,
    )

HIDDEN_KINDS = frozenset({"StreamingDeltaEvent", "TokenEvent", "LLMCompletionLogEvent", "ServerErrorEvent"})
PLAN_TOOLS = frozenset({"task_tracker"})
THINK_TOOLS = frozenset({"think"})
FINISH_TOOLS = frozenset({"finish"})
TURN_END = frozenset({ExecutionStatus.FINISHED, ExecutionStatus.ERROR, ExecutionStatus.STUCK, ExecutionStatus.PAUSED})


@dataclass(eq=False)
class Block:
    """What one item of the log shows. `version` goes up whenever its content changes."""

    id: str
    kind: str  # message, answer, reasoning, tool, plan, error, status, footer, note
    event: Event  # the event it starts from (an action for a tool block)
    timestamp: str = ""
    version: int = 0
    result: Event | None = None  # tool: the observation, rejection or error paired with the action
    interrupted: bool = False  # tool: cut short by the user's interrupt; footer: the turn was
    waiting: bool = False  # tool: waiting for the user's approval
    paused_by_user: bool = False  # footer
    risk: str = ""  # tool: the security analyzer's risk
    text: str = ""  # reasoning: the thinking text; answer: the finish message; error: the error's text
    tasks: list[dict[str, Any]] = field(default_factory=list)  # plan: the latest task list
    updates: int = 0  # plan: how many times it was set
    count: int = 1  # error: identical errors in a row
    status: ExecutionStatus = ExecutionStatus.UNKNOWN  # footer, status
    seconds: float | None = None  # footer: the turn's duration
    usage: UsageTotals | None = None  # footer: the turn's cost and tokens
    tools: int = 0  # footer: tool calls in the turn
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # derived views of this version (diffs)

    def touch(self) -> None:
        self.version += 1
        self.cache.clear()


@dataclass
class _Turn:
    started: str
    usage: UsageTotals
    tools: int = 0
    interrupted: bool = False
    paused: bool = False


def _tool_name(event: ActionEvent) -> str:
    action = event.action if isinstance(event.action, dict) else {}
    return render.clean(event.tool_name or action.get("kind") or "action")


def _action(event: ActionEvent) -> dict[str, Any]:
    return event.action if isinstance(event.action, dict) else {}


def _tasks(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        return None
    return [t for t in value if isinstance(t, dict)]


def _usage_delta(now: UsageTotals, then: UsageTotals) -> UsageTotals:
    return UsageTotals(
        cost=max(0.0, now.cost - then.cost),
        prompt_tokens=max(0, now.prompt_tokens - then.prompt_tokens),
        completion_tokens=max(0, now.completion_tokens - then.completion_tokens),
    )


def is_user_interrupt(event: AgentErrorEvent) -> bool:
    """The error the server records for a tool call cut short by `POST /interrupt` (the user's doing)."""
    text = (event.error or "").lower()
    return "interrupted" in text and ("paused" in text or "before completion" in text)


def error_key(event: Event) -> str:
    if isinstance(event, protocol.AgentErrorEvent):
        return render.clean(event.error).strip()
    if isinstance(event, protocol.ConversationErrorEvent):
        return render.clean(event.detail or event.code or "").strip()
    return event.kind


class Transcript:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._calls: dict[str, Block] = {}  # tool call id and action id -> tool, answer or plan block
        self._plan: Block | None = None
        self._turn: _Turn | None = None
        self._usage = UsageTotals()

    def add(self, events: Iterable[Event]) -> tuple[list[Block], list[Block]]:
        new: list[Block] = []
        changed: list[Block] = []
        for event in events:
            self._add(event, new, changed)
        fresh = {id(b) for b in new}
        return new, [b for b in dict.fromkeys(changed) if id(b) not in fresh]

    def drop_oldest(self, count: int) -> None:
        """Forget the oldest `count` blocks (a log holds a bounded tail; the session or the server has the rest)."""
        gone = {id(b) for b in self.blocks[:count]}
        del self.blocks[:count]
        self._calls = {key: b for key, b in self._calls.items() if id(b) not in gone}

    # ------------------------------------------------------------------ one event

    def _emit(self, block: Block, new: list[Block]) -> Block:
        self.blocks.append(block)
        new.append(block)
        return block

    def _last(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def _add(self, event: Event, new: list[Block], changed: list[Block]) -> None:
        if event.kind in HIDDEN_KINDS:
            return
        if isinstance(event, protocol.ConversationStateUpdateEvent):
            self._state(event, new, changed)
        elif isinstance(event, protocol.MessageEvent):
            self._message(event, new)
        elif isinstance(event, protocol.ActionEvent):
            self._action_event(event, new, changed)
        elif isinstance(event, (protocol.ObservationEvent, protocol.UserRejectObservation)):
            owner = self._owner(event)
            if owner is not None:
                self._pair(owner, event, changed)
            else:
                self._emit(Block(event.id, "tool", event, event.timestamp, result=event), new)
        elif isinstance(event, protocol.AgentErrorEvent):
            owner = self._owner(event)
            if owner is not None and owner.kind == "tool" and owner.result is None:
                owner.interrupted = is_user_interrupt(event)
                self._pair(owner, event, changed)
            else:
                self._error(event, new, changed)
        elif isinstance(event, protocol.ConversationErrorEvent):
            self._error(event, new, changed)
        elif isinstance(event, (protocol.InterruptEvent, protocol.PauseEvent)):
            self._by_user(event, new, changed)
        elif event.kind == "SecurityAnalysisEvent":
            self._risks(event, changed)
        else:
            self._emit(Block(event.id, "note", event, event.timestamp), new)

    def _owner(self, event: Event) -> Block | None:
        for key in (getattr(event, "tool_call_id", ""), getattr(event, "action_id", None)):
            if key and key in self._calls:
                return self._calls[key]
        return None

    def _pair(self, owner: Block, event: Event, changed: list[Block]) -> None:
        if owner.kind == "plan":
            tasks = _tasks(getattr(event, "observation", {}).get("task_list"))
            if tasks is not None and tasks != owner.tasks:
                owner.tasks = tasks
                owner.touch()
                changed.append(owner)
            return
        if owner.result is None or owner.kind == "tool":
            owner.waiting = False
            owner.result = event
            owner.touch()
            changed.append(owner)

    def _register(self, block: Block, event: ActionEvent) -> None:
        for key in (event.tool_call_id, event.id):
            if key:
                self._calls[key] = block

    def _message(self, event: MessageEvent, new: list[Block]) -> None:
        reasoning = event.llm_message.reasoning_content or _thinking(event.llm_message.thinking_blocks)
        if render.message_role(event) == "user" and self._turn is None:
            self._turn = _Turn(event.timestamp, self._usage)
        if reasoning and reasoning.strip():
            self._emit(Block(event.id + ":reasoning", "reasoning", event, event.timestamp, text=reasoning), new)
        self._emit(Block(event.id, "message", event, event.timestamp), new)

    def _action_event(self, event: ActionEvent, new: list[Block], changed: list[Block]) -> None:
        tool, action = _tool_name(event), _action(event)
        thought = event.reasoning_content or event.thought_text
        if tool in THINK_TOOLS:
            text = action.get("thought") if isinstance(action.get("thought"), str) else thought
            block = self._emit(Block(event.id, "reasoning", event, event.timestamp, text=text or ""), new)
            self._register(block, event)
            return
        if thought and thought.strip():
            self._emit(Block(event.id + ":reasoning", "reasoning", event, event.timestamp, text=thought), new)
        if tool in FINISH_TOOLS:
            message = action.get("message")
            text = message if isinstance(message, str) else ""
            block = self._emit(Block(event.id, "answer", event, event.timestamp, text=text), new)
            self._register(block, event)
            return
        if tool in PLAN_TOOLS:
            tasks = _tasks(action.get("task_list"))
            if self._plan is None:
                self._plan = self._emit(Block(event.id, "plan", event, event.timestamp, tasks=tasks or []), new)
            elif tasks is not None:
                self._plan.tasks = tasks
                self._plan.event = event
                self._plan.touch()
                changed.append(self._plan)
            self._plan.updates += 1
            self._register(self._plan, event)
            return
        block = self._emit(Block(event.id, "tool", event, event.timestamp, risk=render.clean(event.security_risk)), new)
        if block.risk in ("UNKNOWN", "LOW"):
            block.risk = ""
        self._register(block, event)
        if self._turn is not None:
            self._turn.tools += 1

    def _error(self, event: Event, new: list[Block], changed: list[Block]) -> None:
        key = error_key(event)
        last = self._last()
        ended = (
            last is not None and last.kind == "footer" and last.status in (ExecutionStatus.ERROR, ExecutionStatus.STUCK)
        )
        if last is not None and ended and last.result is None:
            # The server reports the status before the error: the error goes under the footer of the turn it ended.
            last.result, last.text = event, key
            last.touch()
            changed.append(last)
            return
        if last is not None and (last.kind == "error" or ended) and last.text == key:
            last.count += 1
            last.touch()
            changed.append(last)
            return
        self._emit(Block(event.id, "error", event, event.timestamp, text=key), new)

    def _by_user(self, event: Event, new: list[Block], changed: list[Block]) -> None:
        interrupt = isinstance(event, protocol.InterruptEvent)
        last = self._last()
        if last is not None and last.kind == "footer" and last.status is ExecutionStatus.PAUSED:
            if interrupt:
                last.interrupted = True
            else:
                last.paused_by_user = True
            last.touch()
            changed.append(last)
        elif self._turn is not None:
            if interrupt:
                self._turn.interrupted = True
            else:
                self._turn.paused = True
        else:
            self._emit(Block(event.id, "note", event, event.timestamp, interrupted=interrupt), new)

    def _risks(self, event: Event, changed: list[Block]) -> None:
        risks = event.to_wire().get("risks")
        if not isinstance(risks, dict):
            return
        for action_id, risk in risks.items():
            block = self._calls.get(action_id)
            if block is not None and block.kind == "tool" and isinstance(risk, str) and risk not in ("UNKNOWN", "LOW"):
                block.risk = render.clean(risk)
                block.touch()
                changed.append(block)

    def _state(self, event: ConversationStateUpdateEvent, new: list[Block], changed: list[Block]) -> None:
        if event.key == "stats":
            self._usage = UsageTotals.from_stats(event.value)
            return
        if event.key == "full_state":
            value = event.value if isinstance(event.value, dict) else {}
            status = ExecutionStatus.parse(value.get("execution_status"))
            if self._turn is not None and status in TURN_END:
                self._end_turn(event, status, new)
            return
        if event.key != "execution_status":
            return
        status = ExecutionStatus.parse(event.value)
        if status is ExecutionStatus.RUNNING:
            if self._turn is None:
                self._turn = _Turn(event.timestamp, self._usage)
        elif status in TURN_END:
            last = self._last()
            if self._turn is not None or last is None or last.kind != "footer":
                self._end_turn(event, status, new)
        elif status is ExecutionStatus.WAITING_FOR_CONFIRMATION or status is ExecutionStatus.UNKNOWN:
            if status is ExecutionStatus.WAITING_FOR_CONFIRMATION:
                pending = [b for b in dict.fromkeys(self._calls.values()) if b.kind == "tool" and b.result is None]
                for block in pending:
                    if not block.waiting:
                        block.waiting = True
                        block.touch()
                        changed.append(block)
                if pending:
                    return  # the waiting tool blocks say it; no divider
            last = self._last()
            if last is None or last.kind != "status" or last.status is not status:
                self._emit(Block(event.id, "status", event, event.timestamp, status=status), new)
        # idle, deleting: no divider (the footer already closed the turn)

    def _end_turn(self, event: Event, status: ExecutionStatus, new: list[Block]) -> None:
        turn, self._turn = self._turn, None
        block = Block(event.id, "footer", event, event.timestamp, status=status)
        if turn is not None:
            start, end = render.parse_time(turn.started), render.parse_time(event.timestamp)
            if start is not None and end is not None:
                block.seconds = max(0.0, end - start)
            block.usage = _usage_delta(self._usage, turn.usage)
            block.tools = turn.tools
            block.interrupted = turn.interrupted
            block.paused_by_user = turn.paused
        self._emit(block, new)


def _thinking(blocks: Any) -> str:
    if not isinstance(blocks, list):
        return ""
    parts = [b.get("thinking") for b in blocks if isinstance(b, dict) and isinstance(b.get("thinking"), str)]
    return "\n\n".join(p for p in parts if p)


def build(events: Iterable[Event]) -> list[Block]:
    transcript = Transcript()
    transcript.add(events)
    return transcript.blocks
