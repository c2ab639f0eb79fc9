"""The scripted agent: turns, runs, pause/interrupt/delete/confirmation — with the real quirks.

Everything runs on the server's event loop. ``Conversation.step_lock`` plays the role of the
real server's state lock: a run holds it for a whole step (tool included) but *not* during the
LLM call, so a message sent (or ``/pause``) during a tool waits for the tool to end, and one sent
during an LLM call returns at once.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from . import scenarios, wire
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


class LLMFailure(Exception):
    pass


class ConflictError(Exception):
    """``/run`` while running (409)."""


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
        if run and not conv.running:
            self.start_run(conv)

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

    def start_run(self, conv: Conversation) -> None:
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
        task.cancel()
        await asyncio.wait([task])
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
        self.store.remove(conv)

    async def respond_to_confirmation(self, conv: Conversation, accept: bool, reason: str) -> None:
        if accept:
            if (conv.waiting_actions or conv.status not in (RUNNING, FINISHED)) and not conv.running:
                self.start_run(conv)
            return
        async with conv.step_lock:
            actions, conv.waiting_actions = conv.waiting_actions, []
            if not actions:
                return
            conv.plan = [Reply(scenarios.AFTER_REJECT_ANSWER)]
            conv.set_status(IDLE)
            for action, _step in actions:
                conv.emit(wire.reject_event(action, reason))

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

    def _account(self, conv: Conversation, latency: float, response_id: str) -> None:
        prompt = 1200 + 180 * len(conv.stats.usages) + self.rng.randint(0, 90)
        conv.stats.record(prompt, self.rng.randint(20, 220), latency, response_id)

    async def _llm_call(self, conv: Conversation, step: Step) -> tuple[str, float]:
        """Pretend to call the LLM: wait, stream deltas if ``llm.stream``; returns (response id, latency)."""
        started = time.monotonic()
        if isinstance(step, Fail) or llm_unreachable(conv.agent):
            delay = self.knobs.error_seconds
            await asyncio.sleep(self.knobs.slow_seconds / 2 if delay is None else delay)
            raise LLMFailure()
        if conv.streaming:
            conv.emit(wire.delta_event(""), persist=False)
        if isinstance(step, Reply):
            parts = scenarios.tokens(step.text)
            if step.slow:
                total = self.knobs.slow_seconds
            elif conv.streaming:
                total = len(parts) / max(self.knobs.token_rate, 0.001)
            else:
                total = self.knobs.llm_seconds
            if conv.streaming:
                pause = total / len(parts)
                for part in parts:
                    await asyncio.sleep(pause)
                    conv.emit(wire.delta_event(part), persist=False)
            else:
                await asyncio.sleep(total)
        else:
            await asyncio.sleep(self.knobs.llm_seconds)
        return wire.new_response_id(), round(time.monotonic() - started, 4)

    def _fail(self, conv: Conversation) -> None:
        conv.set_status(ERROR)
        first = conv.emit(wire.conversation_error_event(conv.last_user_message_id))
        conv.emit(wire.conversation_error_event(first["id"]))

    def _needs_confirmation(self, conv: Conversation, step: ToolCall) -> bool:
        return step.confirm or conv.confirmation_policy.get("kind") == "AlwaysConfirm"

    async def _apply(self, conv: Conversation, step: Step, response_id: str, latency: float) -> bool:
        """Turn the LLM's answer into events; True when the run is over."""
        if isinstance(step, Reply):
            conv.emit(wire.message_event("agent", step.text, conv.leaf_event_id, llm_response_id=response_id))
            self._account(conv, latency, response_id)
            conv.set_status(FINISHED)
            conv.emit_stats()
            return True
        if isinstance(step, Finish):
            self._account(conv, latency, response_id)
            action = conv.emit(self._finish_action(conv, step, response_id))
            conv.emit(wire.observation_event(action, wire.finish_observation(step.message)))
            conv.set_status(FINISHED)
            conv.emit_stats()
            return True
        if isinstance(step, Stuck):
            self._account(conv, latency, response_id)
            conv.set_status(STUCK)
            conv.emit_stats()
            return True
        if isinstance(step, Flood):
            self._account(conv, latency, response_id)
            await self._flood(conv, step.count, response_id)
            conv.emit_stats()
            return False
        assert isinstance(step, ToolCall)
        self._account(conv, latency, response_id)
        action = self._tool_action(conv, step, response_id)
        if self._needs_confirmation(conv, step):
            conv.emit(action)
            conv.waiting_actions = [(action, step)]
            conv.set_status(WAITING)
            conv.emit_stats()
            return True
        conv.emit(action)
        await self._execute(conv, action, step)
        conv.emit_stats()
        return False

    async def _execute(self, conv: Conversation, action: dict[str, Any], step: ToolCall) -> None:
        conv.current_action = action
        await asyncio.sleep(self.knobs.slow_seconds if step.slow else self.knobs.tool_seconds)
        conv.emit(
            wire.observation_event(
                action,
                wire.terminal_observation(
                    step.command, step.output, conv.workspace.get("working_dir", ""), conv.persistence_dir
                ),
            )
        )
        conv.current_action = None

    def _tool_action(self, conv: Conversation, step: ToolCall, response_id: str) -> dict[str, Any]:
        args = json.dumps({"command": step.command, "security_risk": "LOW", "summary": step.summary})
        return wire.action_event(
            "terminal",
            {"command": step.command, "is_input": False, "timeout": None, "reset": False, "kind": "TerminalAction"},
            args,
            step.summary,
            conv.leaf_event_id,
            response_id,
        )

    @staticmethod
    def _finish_action(conv: Conversation, step: Finish, response_id: str) -> dict[str, Any]:
        args = json.dumps({"message": step.message})
        return wire.action_event(
            "finish",
            {"message": step.message, "kind": "FinishAction"},
            args,
            f"finish: {args}",
            conv.leaf_event_id,
            response_id,
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
