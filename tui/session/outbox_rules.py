"""The outbox's decisions as pure functions: no I/O, no clock, no session. Each rule is one sentence (the test
table in `tests/test_outbox_rules.py` names its cases with them).

- `next_step`: may the head of the queue go out now, wait, or is the queue held (and why)?
- `arrival`: did a message caught mid-send reach the server? Decided from what the server says (its count of
  user messages before the send and now, and the user messages since the send began), never from the loaded
  tail of the history and never from the text alone.
- `after_refusal`: a send the server refused (an HTTP error, not a lost connection): delivered or queued again.
- `move_target`: where an item lands when moved (never ahead of an item being sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CONFIRMATION_HOLD",
    "Arrival",
    "DeliveryState",
    "Step",
    "arrival",
    "move_target",
    "next_step",
]

CONFIRMATION_HOLD = "waiting for your approval: approve or reject first"


class Step(StrEnum):
    SEND = "send"  # send the head now
    WAIT = "wait"  # not now; asked again on the next change
    HOLD = "hold"  # not until the reason goes away (shown to the user)


@dataclass(frozen=True, slots=True)
class DeliveryState:
    queued: int = 0  # items in the queue
    head_queued: bool = True  # the head is QUEUED (not mid-send)
    sending: bool = False  # a send is under way
    turn_active: bool = False
    live: bool = True  # the socket is open and the history synced
    busy: bool = False  # the agent is running
    waiting_for_confirmation: bool = False
    hold: str | None = None  # a hold the user set (pause, interrupt) or an earlier failure
    store_problem: str | None = None  # the queue cannot be saved (disk full, read-only, another window)


def next_step(state: DeliveryState) -> tuple[Step, str | None]:
    """What to do with the head of the queue, and the hold reason to show (None: no hold)."""
    if state.queued == 0:
        return Step.WAIT, state.hold  # nothing to deliver when the queue is empty
    if state.sending:
        return Step.WAIT, state.hold  # one send at a time
    if state.store_problem:
        return Step.HOLD, f"the queue cannot be saved: {state.store_problem}"  # unsaved, unsent
    if state.turn_active:
        return Step.WAIT, state.hold  # nothing is sent while a turn runs
    if not state.live:
        return Step.WAIT, state.hold  # nothing is sent before the socket is live and the history synced
    if state.busy:
        return Step.WAIT, state.hold  # nothing is sent while the agent is busy
    if state.waiting_for_confirmation:
        return Step.HOLD, CONFIRMATION_HOLD  # a message would count as approval
    if state.hold is not None:
        return Step.HOLD, state.hold  # the user's hold stays until they continue
    if not state.head_queued:
        return Step.WAIT, None  # an item mid-send is resolved first
    return Step.SEND, None


class Arrival(StrEnum):
    ARRIVED = "arrived"
    NOT_ARRIVED = "not arrived"


def arrival(
    text: str,
    *,
    count_before: int | None,
    count_now: int,
    user_messages_since: Iterable[tuple[str, str]],
    known_ids: Iterable[str] = (),
) -> Arrival:
    """Did the item with `text` reach the server? `count_before` is the server's count of user messages when the
    send began (None for an item saved by an older version), `count_now` the count now, `user_messages_since`
    the (id, text) of every user message the server holds from the moment the send began, `known_ids` the ids
    among those that were already there before the send."""
    known = set(known_ids)
    new = [(eid, body) for eid, body in user_messages_since if eid not in known]
    if count_before is not None and count_now <= count_before:
        return Arrival.NOT_ARRIVED  # no user message arrived since the send began: not this one either
    if any(body == text for _, body in new):
        return Arrival.ARRIVED  # a new user message with its text since the send began
    return Arrival.NOT_ARRIVED  # new user messages, none with its text: someone else's, not this one


def move_target(index: int, delta: int, length: int, sending: int) -> int:
    """Where an item at `index` goes when moved by `delta`: within the queue, never ahead of the `sending`
    items at its head."""
    return max(sending, min(length - 1, index + delta))
