"""The scripted agent: turns, runs, pause/interrupt/delete/confirmation — with the real quirks.

Everything runs on the server's event loop. ``Conversation.step_lock`` plays the role of the
real server's state lock: a run holds it for a whole step (tool included) but *not* during the
LLM call, so a message sent (or ``/pause``) during a tool waits for the tool to end, and one sent
during an LLM call returns at once.
"""

from __future__ import annotations

import asyncio
import copy
import json
import posixpath
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from . import scenarios, tools, wire
from .scenarios import Fail, Finish, Flood, Reply, Step, Stuck, ToolCall
from .store import ERROR, FINISHED, IDLE, PAUSED, RUNNING, STUCK, WAITING, Conversation, Store


@dataclass
class Knobs:
    slow_seconds: float = 4.0  # a "slow" LLM reply / a "slowbash" tool
    token_rate: float = 40.0  # streaming deltas per second for normal replies
    llm_seconds: float = 0.05  # latency of a normal (non-slow) LLM call
    tool_seconds: float = 0.3  # duration of a normal tool call
    title_seconds: float = 0.2  # auto-title lands this long after the first user message
    error_seconds: float | None = None  # how long a failing LLM call takes (default: slow_seconds / 2)
    legacy: bool = False  # behave like 1.43.1 (no run limit, mid-reply messages wait for the next run)
    max_runs: int = 10  # 1.58: concurrent run chains before 429 (ignored in 1.43 mode)


@dataclass
class StreamSlot:
    """A streamed LLM output: ``item_id`` is minted up front and given to the step's first durable event."""

    item_id: str
    chunk_id: str
    attempt: int = 1
    order: int = 0
    started: bool = False

    def item_started(self, anchor_seq: int | None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "item_started", "item_id": self.item_id, "attempt": self.attempt}
        if anchor_seq is not None:
            frame["anchor_seq"] = anchor_seq
        return frame

    def delta(self, kind: str, content: str) -> dict[str, Any]:
        frame = {
            "type": "delta",
            "item_id": self.item_id,
            "attempt": self.attempt,
            "order": self.order,
            "kind": kind,
            "content": content,
            "chunk_id": self.chunk_id,
            "choice_index": 0,
        }
        self.order += 1
        return frame

    def next_attempt(self, chunk_id: str) -> None:
        """A provider retry re-streams the same step: a new attempt, ``order`` from 0, a new ``item_started``."""
        self.attempt += 1
        self.order = 0
        self.started = False
        self.chunk_id = chunk_id

    def aborted(self, reason: str) -> dict[str, Any]:
        return {"type": "item_aborted", "item_id": self.item_id, "attempt": self.attempt, "reason": reason}

    def claim(self) -> str | None:
        """The slot's id for the first durable event of the step (once)."""
        item_id, self.item_id = self.item_id, ""
        return item_id or None


class LLMFailure(Exception):
    pass


class ConflictError(Exception):
    """``/run`` while running (409)."""


RISK_ORDER = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}
RUN_LIMIT_DETAIL = "Conversation run limit reached. Retry the request later."


class RunLimitReached(Exception):
    """1.58: every run slot is taken (429)."""

    def __init__(self, message_stored: bool = False) -> None:
        super().__init__(RUN_LIMIT_DETAIL)
        self.message_stored = message_stored

    @staticmethod
    def message_saved(conv: Conversation) -> str:
        return (
            "Message saved, but the conversation run limit was reached. "
            f"Retry POST /api/conversations/{conv.id_str}/run without resending the message."
        )


def llm_unreachable(agent: dict[str, Any]) -> bool:
    """The recorded LLM-failure scenario points ``base_url`` at port 9 (discard): treat that as down."""
    base_url = (agent.get("llm") or {}).get("base_url") or ""
    try:
        return urlparse(base_url).port == 9
    except ValueError:
        return False


class Engine:
    def __init__(self, store: Store, knobs: Knobs) -> None:
        self.store = store
        self.knobs = knobs
        self.rng = random.Random(1234)
        self._background: set[asyncio.Task] = set()

    def spawn(self, coro) -> asyncio.Task:
        """A background task of the server (cancelled at shutdown)."""
        return self._spawn(coro)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ------------------------------------------------------------ user input

    def _ensure_system_prompt(self, conv: Conversation) -> None:
        if not conv.system_prompt_sent:
            conv.system_prompt_sent = True
            tools = [t.get("name") for t in conv.agent.get("tools") or [] if t.get("name")]
            conv.emit(wire.system_prompt_event(tools))

    async def send_message(self, conv: Conversation, text: str, run: bool) -> None:
        """``POST …/events``: blocks while a tool step holds the lock, like the real server."""
        async with conv.step_lock:
            if conv.deleted:
                raise ValueError("inactive_service")
            if conv.status in (FINISHED, STUCK, ERROR):
                conv.set_status(IDLE)
            self._ensure_system_prompt(conv)
            msg = conv.emit(wire.message_event("user", text, conv.leaf_event_id))
            conv.last_user_message_id = msg["id"]
            conv.emit(wire.state_update("last_user_message_id", msg["id"], msg["id"]))
            conv.pending.append(text)
            conv.user_messages += 1
            if conv.user_messages == 1 and conv.autotitle and conv.title is None:
                conv.title_pending = True
                conv.first_user_text = text
                self._spawn(self._autotitle(conv, text))
            conv.save_meta()
            if conv.title_pending and not self.knobs.legacy:
                await self._title_in_request(conv, text)
        if run and not conv.running:
            try:
                self.start_run(conv)
            except RunLimitReached:
                raise RunLimitReached(message_stored=True) from None

    async def _title_in_request(self, conv: Conversation, text: str) -> None:
        """1.58 answers the first message only after its title call (whose tokens land in ``stats``)."""
        if llm_unreachable(conv.agent) or scenarios.scenario_word(text) == "error":
            return  # the failing call is quick; the background task falls back to the text
        await asyncio.sleep(self.knobs.title_seconds)
        self._account_title(conv)

    async def _autotitle(self, conv: Conversation, text: str) -> None:
        """The real server's parallel title LLM call: REST-only title, its tokens go into stats."""
        await asyncio.sleep(self.knobs.title_seconds)
        if conv.deleted or conv.title is not None:
            return
        if llm_unreachable(conv.agent) or scenarios.scenario_word(text) == "error":
            conv.title_pending = False
            conv.title = text[:50]  # the title call fails too: the real server falls back to the text
            conv.save_meta()
            return
        self._account_title(conv)
        conv.save_meta()

    def _account_title(self, conv: Conversation) -> None:
        """The title call's tokens land in the agent's stats (once), as a persisted ``stats`` update."""
        if conv.title_pending:
            conv.title_pending = False
            if conv.title is None:
                conv.title = scenarios.title_for(conv.first_user_text)
            conv.stats.record(self.rng.randint(180, 260), self.rng.randint(6, 14), 0.2, wire.new_response_id())
            conv.emit_stats()

    # ------------------------------------------------------------ run control

    def run(self, conv: Conversation) -> None:
        """``POST /run``: 409 while running; a no-op snapshot when finished; else start a run."""
        if conv.running or conv.status == RUNNING:
            raise ConflictError()
        if conv.status == FINISHED:
            conv.emit_full_state()
            return
        self.start_run(conv)

    def runs_active(self) -> int:
        return sum(1 for c in self.store.conversations.values() if c.running)

    def check_capacity(self) -> None:
        """1.58: a new run chain needs a free slot (1.43 had no limit)."""
        if not self.knobs.legacy and self.runs_active() >= self.knobs.max_runs:
            raise RunLimitReached()

    def start_run(self, conv: Conversation) -> None:
        self.check_capacity()
        conv.run_task = self._spawn(self._run(conv))

    async def pause(self, conv: Conversation) -> None:
        """Blocks during a tool step; immediate during an LLM call (which still lands later)."""
        async with conv.step_lock:
            if conv.deleted:
                return
            if conv.running and conv.status == RUNNING:
                conv.set_status(PAUSED)
                conv.emit(wire.user_action_event("PauseEvent", conv.leaf_event_id))
            conv.emit_full_state()

    async def interrupt(self, conv: Conversation) -> None:
        """Immediate: cancels the LLM call or the tool, then paused + InterruptEvent + 2 snapshots."""
        task = conv.run_task
        if task is None or task.done():
            conv.emit_full_state()
            return
        phase, action, in_flight = conv.phase, conv.current_action, list(conv.in_flight)
        slot = conv.stream_slot
        task.cancel()
        await asyncio.wait([task])
        if slot is not None and slot.started:
            conv.progress(slot.aborted("cancelled"))
        conv.stream_slot = None
        if phase == "llm":
            conv.pending[:0] = in_flight  # the cancelled call's input is merged into the next one
        elif phase == "tool" and action is not None:
            conv.emit_stats()
            conv.emit(
                wire.agent_error_event(
                    action,
                    wire.INTERRUPTED_TOOL_ERROR,
                    {"kind": "agent_action", "retryable": True, "user_action": "retry"},
                    conv.leaf_event_id,
                )
            )
        if conv.status != PAUSED:
            conv.set_status(PAUSED)
        conv.emit(wire.user_action_event("InterruptEvent", conv.leaf_event_id))
        conv.emit_full_state()  # the run task's post-run snapshot
        conv.emit_full_state()  # the interrupt's own snapshot

    async def delete(self, conv: Conversation) -> None:
        task = conv.run_task
        if task is not None and not task.done():
            if conv.status != PAUSED:
                conv.set_status(PAUSED)
            conv.emit(wire.user_action_event("PauseEvent", conv.leaf_event_id))
            conv.emit(wire.user_action_event("InterruptEvent", conv.leaf_event_id))
            conv.emit_full_state()
            task.cancel()
            await asyncio.wait([task])
        conv.subscribers.clear()  # sockets stay open and go silent
        conv.session_channels.clear()
        self.store.remove(conv)

    async def respond_to_confirmation(self, conv: Conversation, accept: bool, reason: str) -> None:
        if accept:
            if (conv.waiting_actions or conv.status not in (RUNNING, FINISHED)) and not conv.running:
                self.start_run(conv)  # 429 when full: the action stays pending
            return
        async with conv.step_lock:
            actions, conv.waiting_actions = conv.waiting_actions, []
            if not actions:
                return
            conv.plan = [Reply(scenarios.AFTER_REJECT_ANSWER)]
            conv.set_status(IDLE)
            for action, _step in actions:
                conv.emit(wire.reject_event(action, reason))

    async def start_child(
        self, parent: Conversation, task: str, title: str | None, isolation: str, wait_for_slot: bool = True
    ) -> Conversation:
        """``POST /{id}/children``: a fresh history with the parent's configuration; it starts running at once."""
        cid = uuid.uuid4()
        workdir = parent.workspace.get("working_dir", "")
        if isolation == "worktree":
            workdir = f"/workspace/trees/{cid}/{posixpath.basename(workdir.rstrip('/')) or 'project'}"
        child = Conversation(
            id=cid,
            agent=copy.deepcopy(parent.agent),
            workspace={**parent.workspace, "working_dir": workdir},
            persistence_dir=self.store.persistence_dir_for(cid),
            title=title,
            confirmation_policy=copy.deepcopy(parent.confirmation_policy),
            security_analyzer=copy.deepcopy(parent.security_analyzer),
            max_iterations=parent.max_iterations,
            stuck_detection=parent.stuck_detection,
            tags=dict(parent.tags),
            parent_conversation_id=parent.id_str,
        )
        self.store.add(child)
        try:
            await self.send_message(child, task, run=True)
        except RunLimitReached:
            if wait_for_slot:
                raise
            self.spawn(self._run_when_free(child))  # the agent's own child waits for a slot
        return child

    async def _run_when_free(self, conv: Conversation) -> None:
        while not conv.deleted and not conv.running:
            try:
                self.start_run(conv)
            except RunLimitReached:
                await asyncio.sleep(0.1)

    def fork(self, source: Conversation, title: str | None, tags: dict[str, str] | None) -> Conversation:
        """``POST /{id}/fork``: a copy of the history under a new id, idle."""
        cid = uuid.uuid4()
        conv = Conversation(
            id=cid,
            agent=copy.deepcopy(source.agent),
            workspace=dict(source.workspace),
            persistence_dir=self.store.persistence_dir_for(cid),
            title=title,
            confirmation_policy=copy.deepcopy(source.confirmation_policy),
            security_analyzer=copy.deepcopy(source.security_analyzer),
            tags=dict(tags or {}),
            forked_from_conversation_id=source.id_str,
            system_prompt_sent=source.system_prompt_sent,
            last_user_message_id=source.last_user_message_id,
            user_messages=source.user_messages,
        )
        for pos in range(len(source.log)):
            conv.log.append(source.log.get(pos))
        conv.leaf_event_id = source.leaf_event_id
        conv.files, conv.originals = dict(source.files), dict(source.originals)
        self.store.add(conv)
        return conv

    def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()

    # ------------------------------------------------------------ the run loop

    async def _run(self, conv: Conversation) -> None:
        cancelled = False
        try:
            self._ensure_system_prompt(conv)
            if conv.status != RUNNING:
                conv.set_status(RUNNING)
            if conv.title_pending and not (
                llm_unreachable(conv.agent)
                or scenarios.scenario_word(conv.pending[-1] if conv.pending else "") == "error"
            ):
                self._account_title(conv)  # the parallel title call returns with the first step
            if conv.waiting_actions:  # a run from waiting_for_confirmation approves the actions
                async with conv.step_lock:
                    actions, conv.waiting_actions = conv.waiting_actions, []
                    conv.phase = "tool"
                    for action, step in actions:
                        await self._execute(conv, action, step)
                    conv.phase = None
            while True:
                async with conv.step_lock:  # queued senders / pausers go first (FIFO lock)
                    if conv.status == PAUSED or conv.deleted:
                        return
                    if conv.pending:
                        conv.in_flight, conv.pending = conv.pending, []
                        conv.plan = scenarios.plan_for(conv.in_flight[-1])
                    elif not conv.plan:
                        conv.plan = [Reply(scenarios.NO_MESSAGE_ANSWER)]
                    step = conv.plan.pop(0)
                    conv.phase = "llm"
                try:
                    response_id, latency = await self._llm_call(conv, step)
                except LLMFailure:
                    conv.phase = None
                    conv.in_flight = []
                    conv.plan = []
                    self._fail(conv)
                    return
                conv.in_flight = []
                async with conv.step_lock:
                    conv.phase = "tool"
                    done = await self._apply(conv, step, response_id, latency)
                    conv.phase = None
                    conv.current_action = None
                    conv.stream_slot = None
                    if done and self._answers_in_same_run(conv):
                        conv.set_status(RUNNING)  # 1.58: finished -> running, the same run goes on
                        continue
                if done:
                    return
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            conv.phase = None
            conv.current_action = None
            if not cancelled and not conv.deleted:
                conv.emit_full_state()
            conv.save_meta()

    def _answers_in_same_run(self, conv: Conversation) -> bool:
        """1.58 answers a message that arrived while the LLM wrote the turn's last reply in the same run."""
        return not self.knobs.legacy and bool(conv.pending) and conv.status == FINISHED

    def _stats_first(self, conv: Conversation) -> None:
        """1.58 publishes a step's ``stats`` before the events of its response."""
        if not self.knobs.legacy:
            conv.emit_stats()

    def _stats_last(self, conv: Conversation) -> None:
        """1.43 publishes them after (the accounting runs on another thread there)."""
        if self.knobs.legacy:
            conv.emit_stats()

    def _account(self, conv: Conversation, latency: float, response_id: str) -> None:
        prompt = 1200 + 180 * len(conv.stats.usages) + self.rng.randint(0, 90)
        conv.stats.record(prompt, self.rng.randint(20, 220), latency, response_id)

    async def _llm_call(self, conv: Conversation, step: Step) -> tuple[str, float]:
        """Pretend to call the LLM: wait, stream deltas if ``llm.stream``; returns (response id, latency).

        A streamed step opens a slot whose id becomes the id of the step's first durable event (the
        agent message, or the action whose thought was streamed)."""
        started = time.monotonic()
        if isinstance(step, Fail) or llm_unreachable(conv.agent):
            delay = self.knobs.error_seconds
            if conv.quick_failure:
                delay = 0.0
            await asyncio.sleep(self.knobs.slow_seconds / 2 if delay is None else delay)
            raise LLMFailure()
        response_id = wire.new_response_id()
        conv.stream_slot = StreamSlot(wire.new_id(), response_id)
        if conv.streaming:
            conv.emit(wire.delta_event(""), persist=False)
        reasoning = scenarios.reasoning_of(step)
        shown = scenarios.streamed_text(step)
        parts = [("reasoning", p) for p in scenarios.tokens(reasoning)] if reasoning else []
        parts += [("text", p) for p in scenarios.tokens(shown)] if shown else []
        if isinstance(step, (Reply, Finish)) and step.slow:
            total = self.knobs.slow_seconds
        elif conv.streaming and parts:
            total = len(parts) / max(self.knobs.token_rate, 0.001)
        else:
            total = self.knobs.llm_seconds
        if conv.streaming and parts:
            pause = total / len(parts)
            if isinstance(step, Reply) and step.retry:  # the provider fails mid-stream; the step re-streams
                for kind, part in parts[: len(parts) // 2]:
                    await asyncio.sleep(pause)
                    self._stream(conv, kind, part)
                response_id = wire.new_response_id()
                conv.stream_slot.next_attempt(response_id)
            for kind, part in parts:
                await asyncio.sleep(pause)
                self._stream(conv, kind, part)
        else:
            await asyncio.sleep(total)
        return response_id, round(time.monotonic() - started, 4)

    @staticmethod
    def _stream(conv: Conversation, kind: str, part: str) -> None:
        """One chunk on both sockets: a legacy ``StreamingDeltaEvent`` and a session ``delta``."""
        if kind == "reasoning":
            conv.emit(wire.reasoning_delta_event(part), persist=False)
        else:
            conv.emit(wire.delta_event(part), persist=False)
        slot = conv.stream_slot
        if slot is None or not part:
            return
        if not slot.started:
            slot.started = True
            conv.progress(slot.item_started(len(conv.log) - 1 if len(conv.log) else None))
        conv.progress(slot.delta(kind, part))

    def _fail(self, conv: Conversation) -> None:
        if self.knobs.legacy:
            conv.set_status(ERROR)
            first = conv.emit(wire.conversation_error_event(conv.last_user_message_id))
        else:  # 1.58 reports the error before the status
            first = conv.emit(wire.conversation_error_event(conv.last_user_message_id))
            conv.set_status(ERROR)
        conv.emit(wire.conversation_error_event(first["id"]))

    def _risk(self, conv: Conversation, step: ToolCall) -> str:
        """The action's ``security_risk``: what the LLM said only when an analyzer is set (1.58), else UNKNOWN."""
        if self.knobs.legacy or not conv.security_analyzer:
            return "UNKNOWN"
        return step.risk

    def _needs_confirmation(self, conv: Conversation, step: ToolCall, risk: str) -> bool:
        policy = conv.confirmation_policy or {}
        if step.confirm or policy.get("kind") == "AlwaysConfirm":
            return True
        if policy.get("kind") == "ConfirmRisky" and not self.knobs.legacy:
            if risk == "UNKNOWN":
                return bool(policy.get("confirm_unknown", True))
            return RISK_ORDER.get(risk, 0) >= RISK_ORDER.get(policy.get("threshold") or "HIGH", 3)
        return False

    async def _apply(self, conv: Conversation, step: Step, response_id: str, latency: float) -> bool:
        """Turn the LLM's answer into events; True when the run is over."""
        slot_id = conv.stream_slot.claim() if conv.stream_slot else None
        if isinstance(step, Reply):
            self._account(conv, latency, response_id)
            self._stats_first(conv)
            conv.emit(
                wire.message_event(
                    "agent",
                    step.text,
                    conv.leaf_event_id,
                    llm_response_id=response_id,
                    event_id=slot_id,
                    reasoning=step.reasoning,
                )
            )
            conv.set_status(FINISHED)
            self._stats_last(conv)
            return True
        if isinstance(step, Finish):
            self._account(conv, latency, response_id)
            self._stats_first(conv)
            action = conv.emit(self._finish_action(conv, step, response_id, slot_id))
            conv.emit(wire.observation_event(action, wire.finish_observation(step.message)))
            conv.set_status(FINISHED)
            self._stats_last(conv)
            return True
        if isinstance(step, Stuck):
            self._account(conv, latency, response_id)
            self._stats_first(conv)
            conv.set_status(STUCK)
            self._stats_last(conv)
            return True
        if isinstance(step, Flood):
            self._account(conv, latency, response_id)
            self._stats_first(conv)
            await self._flood(conv, step.count, response_id)
            self._stats_last(conv)
            return False
        assert isinstance(step, ToolCall)
        self._account(conv, latency, response_id)
        self._stats_first(conv)
        risk = self._risk(conv, step)
        action = conv.emit(tools.action(conv, step, response_id, slot_id, risk))
        if conv.security_analyzer and not self.knobs.legacy:
            policy = (conv.confirmation_policy or {}).get("kind") or "NeverConfirm"
            conv.emit(wire.security_analysis_event(action["id"], {action["id"]: risk}, policy))
        if self._needs_confirmation(conv, step, risk):
            conv.waiting_actions = [(action, step)]
            conv.set_status(WAITING)
            self._stats_last(conv)
            return True
        await self._execute(conv, action, step)
        self._stats_last(conv)
        return False

    async def _execute(self, conv: Conversation, action: dict[str, Any], step: ToolCall) -> None:
        conv.current_action = action
        await asyncio.sleep(self.knobs.slow_seconds if step.slow else self.knobs.tool_seconds)
        if step.tool == "start_child_conversation" and step.child:
            task, title = step.child
            child = await self.start_child(conv, task, title, "shared", wait_for_slot=False)
            observation = tools.child_observation(child.id_str, title)
        else:
            observation = tools.observation(conv, step)
        conv.emit(wire.observation_event(action, observation))
        conv.current_action = None

    @staticmethod
    def _finish_action(conv: Conversation, step: Finish, response_id: str, slot_id: str | None) -> dict[str, Any]:
        args = json.dumps({"message": step.message})
        return wire.action_event(
            "finish",
            {"message": step.message, "kind": "FinishAction"},
            args,
            f"finish: {args}",
            conv.leaf_event_id,
            response_id,
            thought=step.thought,
            event_id=slot_id,
        )

    async def _flood(self, conv: Conversation, count: int, response_id: str) -> None:
        """``count`` events as fast as the loop allows (pairs of terminal action/observation)."""
        workdir = conv.workspace.get("working_dir", "")
        for i in range(count):
            if i % 2 == 0:
                action = wire.action_event(
                    "terminal",
                    {
                        "command": f"echo {i}",
                        "is_input": False,
                        "timeout": None,
                        "reset": False,
                        "kind": "TerminalAction",
                    },
                    json.dumps({"command": f"echo {i}"}),
                    "flood",
                    conv.leaf_event_id,
                    response_id,
                )
                conv.emit(action)
            else:
                conv.emit(
                    wire.observation_event(
                        action, wire.terminal_observation(f"echo {i - 1}", str(i - 1), workdir, conv.persistence_dir)
                    )
                )
            if i % 256 == 255:
                await asyncio.sleep(0)


def new_conversation_id() -> uuid.UUID:
    return uuid.uuid4()
