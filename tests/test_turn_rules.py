"""The turn rules, one case per rule, the rule's sentence as the test id.

Inputs are the frames real servers sent (`tests/data/turns/`: frames of one socket from the 1.43.1 and 1.58.2
recordings, trimmed to what the rules read). A case feeds the observations of a recording up to a point into a
fresh `TurnRules` (optionally starting our own turn, or asking for an interrupt, just before a given observation)
and checks what the rules decide about the last one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tui.protocol import ConversationStateUpdateEvent, ExecutionStatus, InterruptEvent, MessageEvent, parse_event
from tui.session import Delivery, StatusDecision, TurnRules

DATA = Path(__file__).parent / "data" / "turns"
S = ExecutionStatus


@dataclass(frozen=True)
class Obs:
    what: str  # snapshot | field | user | interrupt
    status: ExecutionStatus = S.UNKNOWN
    user_id: str | None = None  # snapshot: last_user_message_id; user: the message id


def observations(recording: str) -> list[Obs]:
    """What the rules are told, in the order the socket delivered it (numbered from 1 in the cases)."""
    out = []
    for line in (DATA / f"{recording}.jsonl").read_text().splitlines():
        frame = json.loads(line)
        if "type" in frame:  # a session-socket envelope
            if frame["type"] not in ("durable", "transient"):
                continue
            frame = frame["event"]
        event = parse_event(frame)
        if isinstance(event, ConversationStateUpdateEvent) and event.is_snapshot:
            value = event.value or {}
            out.append(Obs("snapshot", S.parse(value.get("execution_status")), value.get("last_user_message_id")))
        elif isinstance(event, ConversationStateUpdateEvent) and event.key == "execution_status":
            out.append(Obs("field", S.parse(event.value)))
        elif isinstance(event, MessageEvent) and event.source == "user":
            out.append(Obs("user", user_id=event.id))
        elif isinstance(event, InterruptEvent):
            out.append(Obs("interrupt"))
    return out


def replay(
    recording: str, until: int, *, ours_before: int | None = None, interrupt_before: int | None = None
) -> tuple[TurnRules, StatusDecision | None]:
    rules = TurnRules()
    last_user: str | None = None
    decision: StatusDecision | None = None
    for number, obs in enumerate(observations(recording)[:until], start=1):
        if number == ours_before:  # the session begins our turn before it POSTs the message
            rules.begin(item_id="ours", item_text="…", prior_user_message_id=last_user)
        if number == interrupt_before:
            rules.interrupt_requested()
        if obs.what == "snapshot":
            decision = rules.observe_snapshot(obs.status, obs.user_id)
        elif obs.what == "field":
            decision = rules.observe_field(obs.status)
        elif obs.what == "user":
            last_user = obs.user_id
            decision = None
    return rules, decision


@dataclass(frozen=True)
class Case:
    rule: str
    recording: str
    until: int  # the observation whose decision is checked (1-based)
    check: Callable[[TurnRules, StatusDecision], bool]
    ours_before: int | None = None
    interrupt_before: int | None = None


CASES = [
    Case(
        "A running status with no turn in progress starts a turn someone else began",
        "queue-1.43",
        3,
        lambda r, d: d.began and d.turn_changed and r.turn.active and r.turn.item_id is None,
    ),
    Case(
        "A running status in our own turn marks it seen running and starts nothing new",
        "queue-1.43",
        3,
        lambda r, d: not d.began and r.turn.saw_running and r.turn.item_id == "ours",
        ours_before=2,
    ),
    Case(
        "A per-field finished is not the end of a turn: the same run may go on (1.58)",
        "mid_llm_message-1.58-session",
        5,
        lambda r, d: d.ended is None and r.turn.active and not d.check_queue,
    ),
    Case(
        "A running after a per-field finished is the same run answering a message sent mid-reply",
        "mid_llm_message-1.58-session",
        6,
        lambda r, d: d.continued and not d.began and r.answers_mid_turn and r.turn.generation == 1,
    ),
    Case(
        "The post-run snapshot ends the turn with its status",
        "mid_llm_message-1.58-session",
        8,
        lambda r, d: d.ended is S.FINISHED and not r.turn.active,
    ),
    Case(
        "The post-run snapshot ends the turn on the 1.43 events socket too",
        "queue-1.43",
        6,
        lambda r, d: d.ended is S.FINISHED and not r.turn.active,
    ),
    Case(
        "A per-field error ends the turn at once: no snapshot may follow",
        "llm_error-1.43",
        4,
        lambda r, d: d.ended is S.ERROR and not r.turn.active,
    ),
    Case(
        "A terminal snapshot before our turn was seen running does not end it",
        "interrupt-1.43",
        8,
        # the third paused snapshot of the interrupt, told before our message: the turn is still to come
        lambda r, d: d.ended is None and r.turn.active,
        ours_before=7,
    ),
    Case(
        "A snapshot still naming the user message from before our turn is stale and ignored",
        "interrupt-1.43",
        8,
        lambda r, d: d.ignored and r.turn.active and r.status is S.PAUSED,
        ours_before=8,
    ),
    Case(
        "The interrupt's paused status clears the interrupting mark",
        "interrupt-1.43",
        4,
        lambda r, d: d.turn_changed and not r.turn.interrupting and r.status is S.PAUSED,
        interrupt_before=4,
    ),
    Case(
        "The interrupt's paused snapshot ends the turn as paused",
        "interrupt-1.43",
        6,
        lambda r, d: d.ended is S.PAUSED,
    ),
    Case(
        "A paused snapshot after a pause during an LLM call ends the turn; the reply still streaming is not cut off",
        "pause-1.58",
        20,
        lambda r, d: d.ended is S.PAUSED and TurnRules.cut_off_reason(S.PAUSED) is None,
    ),
    Case(
        "After a turn has ended, the next status lets the queue be delivered",
        "pause-1.58",
        21,  # the reply that kept streaming after the pause lands, then a per-field finished
        lambda r, d: d.check_queue and d.ended is None and r.status is S.FINISHED,
    ),
    Case(
        "After a reconnect the snapshot that follows the replay gives the live status: a running turn is followed",
        "session_socket-1.58-resume_2",
        1,
        lambda r, d: d.began and r.turn.active and r.status is S.RUNNING,
    ),
    Case(
        "On the session socket the transient post-run snapshot ends the turn",
        "session_socket-1.58-resume_2",
        3,
        lambda r, d: d.ended is S.FINISHED,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_turn_rule(case: Case) -> None:
    rules, decision = replay(
        case.recording, case.until, ours_before=case.ours_before, interrupt_before=case.interrupt_before
    )
    assert decision is not None
    assert case.check(rules, decision), (decision, rules.turn, rules.status)


def test_a_rest_status_never_overrides_the_socket_after_a_pause_during_an_llm_call() -> None:
    # The socket said paused; REST keeps saying running while the LLM call goes on (recorded 1 s after /pause).
    rules, _ = replay("pause-1.58", 20)
    assert rules.observe_rest(S.RUNNING).ignored
    assert rules.status is S.PAUSED


def test_a_rest_status_fills_in_what_the_socket_has_not_said_yet() -> None:
    rules = TurnRules()
    decision = rules.observe_rest(S.FINISHED)
    assert not decision.ignored and rules.status is S.FINISHED and decision.check_queue


def test_a_turn_we_started_that_never_shows_running_is_over_once_rest_says_the_agent_is_not_busy() -> None:
    rules = TurnRules(S.FINISHED)
    turn = rules.begin(item_id="ours")
    assert rules.never_started(turn, S.RUNNING) is None and turn.active
    assert rules.never_started(turn, S.FINISHED) is S.FINISHED and not turn.active
    assert rules.never_started(turn, S.FINISHED) is None  # once


def test_text_cut_off_by_an_error_or_a_finished_turn_is_kept_marked_with_why() -> None:
    assert TurnRules.cut_off_reason(S.ERROR) == "error"
    assert TurnRules.cut_off_reason(S.FINISHED) == "finished"


@dataclass(frozen=True)
class DeliveryCase:
    rule: str
    status: ExecutionStatus
    expect: Delivery
    reason: str | None = None
    sending: bool = False
    queued: bool = True
    head_ready: bool = True
    live: bool = True
    hold: str | None = None
    turn_active: bool = False


DELIVERY = [
    DeliveryCase("The queue head is sent when the agent is not busy and the socket is live", S.FINISHED, Delivery.SEND),
    DeliveryCase("The queue head is sent to an idle conversation", S.IDLE, Delivery.SEND),
    DeliveryCase("Nothing is sent while the agent runs", S.RUNNING, Delivery.WAIT),
    DeliveryCase("Nothing is sent while a turn is in progress", S.FINISHED, Delivery.WAIT, turn_active=True),
    DeliveryCase("Nothing is sent while another send is in flight", S.FINISHED, Delivery.WAIT, sending=True),
    DeliveryCase("Nothing is sent while the socket is not live", S.FINISHED, Delivery.WAIT, live=False),
    DeliveryCase("An empty queue sends nothing", S.FINISHED, Delivery.WAIT, queued=False),
    DeliveryCase(
        "An item caught mid-send is not sent again by the queue (the history decides)",
        S.FINISHED,
        Delivery.WAIT,
        head_ready=False,
    ),
    DeliveryCase(
        "Waiting for confirmation holds the queue until the person approves or rejects",
        S.WAITING_FOR_CONFIRMATION,
        Delivery.HOLD,
        reason="waiting for your approval: approve or reject first",
    ),
    DeliveryCase(
        "A hold (paused, interrupted, a failed send) keeps the queue until the person acts",
        S.PAUSED,
        Delivery.HOLD,
        reason="paused: resume to continue",
        hold="paused: resume to continue",
    ),
]


@pytest.mark.parametrize("case", DELIVERY, ids=[c.rule for c in DELIVERY])
def test_delivery_rule(case: DeliveryCase) -> None:
    rules = TurnRules(case.status)
    if case.turn_active:
        rules.begin(item_id="x")
    decision = rules.delivery(
        sending=case.sending, queued=case.queued, head_ready=case.head_ready, live=case.live, hold=case.hold
    )
    assert (decision.action, decision.reason) == (case.expect, case.reason)


def test_steering_is_offered_while_a_turn_runs_on_a_server_that_answers_mid_turn_messages() -> None:
    rules, _ = replay("mid_llm_message-1.58-session", 3)  # running, first reply streaming
    assert rules.can_steer(server_answers_mid_turn=True)
    assert not rules.can_steer(server_answers_mid_turn=False), "1.43 drops such a message"
    rules, _ = replay("mid_llm_message-1.58-session", 11)  # second turn: the flip was seen in the first
    assert rules.can_steer(server_answers_mid_turn=False)


def test_steering_is_not_offered_when_no_turn_runs() -> None:
    rules, _ = replay("mid_llm_message-1.58-session", 8)
    assert not rules.can_steer(server_answers_mid_turn=True)
