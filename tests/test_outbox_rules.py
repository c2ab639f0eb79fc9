"""The outbox's decisions, one case per rule; each case is named by the rule's sentence."""

from __future__ import annotations

import pytest

from tui.session.outbox_rules import CONFIRMATION_HOLD, Arrival, DeliveryState, Step, arrival, move_target, next_step

READY = DeliveryState(queued=1)

DELIVERY = [
    ("nothing is delivered when the queue is empty", DeliveryState(queued=0), Step.WAIT, None),
    ("one send at a time", DeliveryState(queued=2, sending=True), Step.WAIT, None),
    (
        "a queue that cannot be saved is held with the reason, and nothing of it is sent",
        DeliveryState(queued=1, store_problem="disk full"),
        Step.HOLD,
        "the queue cannot be saved: disk full",
    ),
    ("nothing is sent while a turn runs", DeliveryState(queued=1, turn_active=True), Step.WAIT, None),
    (
        "nothing is sent before the socket is live and the history synced",
        DeliveryState(queued=1, live=False),
        Step.WAIT,
        None,
    ),
    ("nothing is sent while the agent is busy", DeliveryState(queued=1, busy=True), Step.WAIT, None),
    (
        "waiting for confirmation holds the queue, since a message would count as approval",
        DeliveryState(queued=1, waiting_for_confirmation=True),
        Step.HOLD,
        CONFIRMATION_HOLD,
    ),
    (
        "a hold the user set (pause, interrupt, a refused send) stays until they continue",
        DeliveryState(queued=1, hold="paused: resume to continue"),
        Step.HOLD,
        "paused: resume to continue",
    ),
    (
        "an item caught mid-send is resolved before anything else goes out",
        DeliveryState(queued=1, head_queued=False),
        Step.WAIT,
        None,
    ),
    ("otherwise the head is sent at once", READY, Step.SEND, None),
    (
        "a user's hold is kept (not cleared) while the agent is busy",
        DeliveryState(queued=1, busy=True, hold="interrupted"),
        Step.WAIT,
        "interrupted",
    ),
]


@pytest.mark.parametrize("state,step,reason", [c[1:] for c in DELIVERY], ids=[c[0] for c in DELIVERY])
def test_delivery(state, step, reason):
    assert next_step(state) == (step, reason)


M = "continue"
ARRIVAL = [
    (
        "no user message arrived since the send began: it did not arrive",
        {"count_before": 4, "count_now": 4, "user_messages_since": [("a", M)], "known_ids": []},
        Arrival.NOT_ARRIVED,
    ),
    (
        "a new user message with its text since the send began: it arrived",
        {"count_before": 4, "count_now": 5, "user_messages_since": [("n", M)], "known_ids": []},
        Arrival.ARRIVED,
    ),
    (
        "new user messages, none with its text: someone else's, it did not arrive",
        {"count_before": 4, "count_now": 6, "user_messages_since": [("x", "other"), ("y", "more")], "known_ids": []},
        Arrival.NOT_ARRIVED,
    ),
    (
        "a message with its text that was there before the send does not count",
        {"count_before": 4, "count_now": 5, "user_messages_since": [("old", M), ("x", "other")], "known_ids": ["old"]},
        Arrival.NOT_ARRIVED,
    ),
    (
        "the text must match exactly, not as a part",
        {"count_before": 4, "count_now": 5, "user_messages_since": [("x", M + " please")], "known_ids": []},
        Arrival.NOT_ARRIVED,
    ),
    (
        "an item saved without a count (an older version) arrived only if a new message has its text",
        {"count_before": None, "count_now": 9, "user_messages_since": [("n", M)], "known_ids": []},
        Arrival.ARRIVED,
    ),
    (
        "an item saved without a count and no new message with its text did not arrive",
        {"count_before": None, "count_now": 9, "user_messages_since": [("k", M)], "known_ids": ["k"]},
        Arrival.NOT_ARRIVED,
    ),
]


@pytest.mark.parametrize("facts,verdict", [c[1:] for c in ARRIVAL], ids=[c[0] for c in ARRIVAL])
def test_arrival(facts, verdict):
    assert arrival(M, **facts) is verdict


MOVES = [
    ("an item moves by the distance asked", (3, -1, 5, 0), 2),
    ("nothing moves past the end of the queue", (3, 5, 5, 0), 4),
    ("nothing moves ahead of an item being sent", (2, -5, 5, 1), 1),
]


@pytest.mark.parametrize("args,where", [c[1:] for c in MOVES], ids=[c[0] for c in MOVES])
def test_moves(args, where):
    assert move_target(*args) == where
