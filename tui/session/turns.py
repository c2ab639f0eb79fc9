"""The turn rules of one conversation: when a turn starts and ends, which snapshot is stale, when the queue may
be delivered. Pure: no I/O, no clock of its own, no Textual. The session feeds it what it observes (a status from
a snapshot or a per-field update, a REST status, a send, an interrupt) and acts on the decisions it answers.

A turn is one run of the agent as a person sees it: from the message that starts it (ours or someone else's)
to the post-run `full_state` snapshot. A per-field `finished` is not the end: since 1.58 a message sent while the
LLM writes the last reply is answered in the same run (`finished` → `running`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tui.protocol import ExecutionStatus

__all__ = ["Delivery", "DeliveryDecision", "StatusDecision", "Turn", "TurnRules"]


@dataclass(slots=True)
class Turn:
    active: bool = False
    started_at: float | None = None  # epoch seconds, for the elapsed-time display
    saw_running: bool = False
    interrupting: bool = False
    item_id: str | None = None  # the outbox item that started this turn, if we did
    item_text: str | None = None
    # The newest user message before this turn: a snapshot still naming it predates the turn.
    prior_user_message_id: str | None = None
    since: str | None = None  # newest event timestamp held when the turn began (reconcile window)
    generation: int = 0
    # A per-field terminal status was seen in this turn (a `running` after it is the same run going on).
    saw_field_end: bool = False


@dataclass(frozen=True, slots=True)
class StatusDecision:
    """What one observed status means."""

    ignored: bool = False  # a stale snapshot: nothing changes
    status_changed: bool = False
    began: bool = False  # a turn began that we did not start
    turn_changed: bool = False  # interrupting was cleared, or a turn began
    ended: ExecutionStatus | None = None  # the turn in progress ended with this status
    check_queue: bool = False  # no turn in progress: the queue may be delivered now
    continued: bool = False  # `running` after a per-field terminal status: the server answers mid-turn messages


class Delivery(StrEnum):
    SEND = "send"  # deliver the queue head now
    WAIT = "wait"  # not now; asked again at the next change
    HOLD = "hold"  # not until the person acts; `reason` says why


@dataclass(frozen=True, slots=True)
class DeliveryDecision:
    action: Delivery
    reason: str | None = None


_HOLD_CONFIRMATION = "waiting for your approval: approve or reject first"


class TurnRules:
    def __init__(self, status: ExecutionStatus = ExecutionStatus.UNKNOWN) -> None:
        self.status = status
        self.turn = Turn()
        # The server answered a message inside a running turn (seen once: it is a property of the server).
        self.answers_mid_turn = False

    # ------------------------------------------------------------------ statuses

    def is_stale_snapshot(self, last_user_message_id: str | None) -> bool:
        """A snapshot from before the message that started our turn (an interrupt sends two paused snapshots;
        the second can arrive after the next message was sent)."""
        turn = self.turn
        return (
            turn.active
            and turn.item_id is not None
            and turn.prior_user_message_id is not None
            and last_user_message_id == turn.prior_user_message_id
        )

    def observe_snapshot(
        self, status: ExecutionStatus, last_user_message_id: str | None, *, now: float = 0.0
    ) -> StatusDecision:
        """A `full_state` snapshot (after connect, after a run)."""
        if self.is_stale_snapshot(last_user_message_id):
            return StatusDecision(ignored=True)
        return self._observe(status, snapshot=True, now=now)

    def observe_field(self, status: ExecutionStatus, *, now: float = 0.0) -> StatusDecision:
        """A per-field `execution_status` update (persisted, part of the history)."""
        return self._observe(status, snapshot=False, now=now)

    def observe_rest(self, status: ExecutionStatus, *, now: float = 0.0) -> StatusDecision:
        """A status read over REST. The socket is the authority for a watched conversation (REST says `running`
        while the socket says `paused` after a pause during an LLM call): REST only fills in an unknown status."""
        if self.status is not ExecutionStatus.UNKNOWN:
            return StatusDecision(ignored=True)
        return self._observe(status, snapshot=False, now=now)

    def _observe(self, status: ExecutionStatus, *, snapshot: bool, now: float) -> StatusDecision:
        if status is ExecutionStatus.UNKNOWN:
            return StatusDecision(ignored=True)
        changed = status is not self.status
        self.status = status
        turn = self.turn
        began = turn_changed = continued = False
        if status is ExecutionStatus.RUNNING:
            if not turn.active:
                self.begin(now=now)
                turn = self.turn
                began = turn_changed = True
            elif turn.saw_field_end:
                continued = True
                self.answers_mid_turn = True
                turn.saw_field_end = False
            turn.saw_running = True
        else:
            if turn.interrupting:
                turn.interrupting = False
                turn_changed = True
            if turn.active and not snapshot and status.is_terminal():
                turn.saw_field_end = True
        # The post-run snapshot ends a turn; a per-field error/stuck does too (no snapshot may follow).
        ends = (
            status is not ExecutionStatus.RUNNING
            and turn.active
            and turn.saw_running
            and (snapshot or status in (ExecutionStatus.ERROR, ExecutionStatus.STUCK))
        )
        if ends:
            turn.active = False
        return StatusDecision(
            status_changed=changed,
            began=began,
            turn_changed=turn_changed,
            ended=status if ends else None,
            check_queue=not ends and not turn.active,
            continued=continued,
        )

    # ------------------------------------------------------------------ turns

    def begin(
        self,
        *,
        item_id: str | None = None,
        item_text: str | None = None,
        prior_user_message_id: str | None = None,
        since: str | None = None,
        now: float = 0.0,
    ) -> Turn:
        """A turn starts: ours (we are sending `item_id`) or the server's (a `running` we did not cause)."""
        self.turn = Turn(
            active=True,
            started_at=now,
            item_id=item_id,
            item_text=item_text,
            since=since,
            prior_user_message_id=prior_user_message_id,
            generation=self.turn.generation + 1,
        )
        return self.turn

    def send_failed(self) -> None:
        """The message that was to start our turn did not start it (refused, or its fate is unknown)."""
        self.turn.active = False

    def interrupt_requested(self) -> None:
        self.turn.interrupting = True

    def interrupt_failed(self) -> None:
        self.turn.interrupting = False

    def never_started(self, turn: Turn, rest_status: ExecutionStatus) -> ExecutionStatus | None:
        """A turn we started has not shown `running` for a while and REST gives `rest_status`: if the agent is
        not busy the turn is over (the run started and ended unseen, or never started), with that status."""
        if self.turn is not turn or not turn.active or turn.saw_running or rest_status.is_busy():
            return None
        turn.saw_running = True
        turn.active = False
        self.status = rest_status
        return rest_status

    @staticmethod
    def cut_off_reason(status: ExecutionStatus) -> str | None:
        """At the end of a turn, why text still streaming will never be in a final event (None: it may still
        be). After a pause during an LLM call the reply keeps streaming and lands as a message: not cut off."""
        if status is ExecutionStatus.PAUSED:
            return None
        return str(status)

    # ------------------------------------------------------------------ steering and delivery

    def can_steer(self, server_answers_mid_turn: bool) -> bool:
        """A message may go into the running turn without interrupting it: the server answers such messages
        (known from its version, or seen once) and a turn is running."""
        return (server_answers_mid_turn or self.answers_mid_turn) and self.turn.active and self.status.is_busy()

    def delivery(
        self, *, sending: bool, queued: bool, head_ready: bool, live: bool, hold: str | None
    ) -> DeliveryDecision:
        """May the queue head be sent now? `queued`: the queue is not empty; `head_ready`: its head is queued
        (not caught mid-send); `hold`: a reason the person must act on first (paused, interrupted, failed)."""
        if sending or self.turn.active or not queued or not live:
            return DeliveryDecision(Delivery.WAIT)
        if self.status.is_busy():
            return DeliveryDecision(Delivery.WAIT)
        if self.status is ExecutionStatus.WAITING_FOR_CONFIRMATION:
            return DeliveryDecision(Delivery.HOLD, _HOLD_CONFIRMATION)
        if hold is not None:
            return DeliveryDecision(Delivery.HOLD, hold)
        if not head_ready:
            return DeliveryDecision(Delivery.WAIT)
        return DeliveryDecision(Delivery.SEND)
