"""Every frame and response body recorded from the real server parses, none is dropped, re-serialising keeps it."""

from __future__ import annotations

import pytest

from tests.transcripts import lines, rest_event_bodies, transcript_files, ws_frames
from tui.protocol import (
    ActionEvent,
    ConversationInfo,
    ConversationPage,
    ConversationState,
    ConversationStateUpdateEvent,
    ExecutionStatus,
    MessageEvent,
    StreamingDeltaEvent,
    UnknownEvent,
    UsageTotals,
    parse_event,
)

FILES = transcript_files()


def test_transcripts_are_present():
    assert len(FILES) >= 19


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_ws_frame_parses_to_a_known_kind_and_round_trips(path):
    frames = list(ws_frames(path))
    for frame in frames:
        event = parse_event(frame)
        assert not isinstance(event, UnknownEvent), (frame.get("kind"), getattr(event, "parse_error", None))
        assert event.kind == frame["kind"]
        assert event.to_wire() == frame


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_rest_event_parses_and_round_trips(path):
    for body in rest_event_bodies(path):
        event = parse_event(body)
        assert not isinstance(event, UnknownEvent), body.get("kind")
        assert event.to_wire() == body


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_conversation_bodies_parse_and_round_trip(path):
    seen = 0
    for line in lines(path):
        if line["channel"] != "rest" or line.get("status") not in (200, 201):
            continue
        body, route = line["body"], line["path"].split("?")[0]
        if route.endswith("/conversations/search"):
            page = ConversationPage.model_validate(body)
            assert len(page.items) == len(body["items"])
            assert page.to_wire() == body
            seen += 1
        elif isinstance(body, dict) and "execution_status" in body and "workspace" in body:
            info = ConversationInfo.model_validate(body)
            assert info.to_wire() == body
            assert info.status is not ExecutionStatus.UNKNOWN
            seen += 1
        elif isinstance(body, list) and route.endswith("/api/conversations"):
            infos = [None if item is None else ConversationInfo.model_validate(item) for item in body]
            assert [i.to_wire() if i else None for i in infos] == body
            seen += 1
    if path.stem not in ("health", "deferred_init"):
        assert seen, "every scenario creates or reads a conversation"


def test_full_state_snapshots_carry_status_and_stats():
    frames = [f for p in FILES for f in ws_frames(p) if f.get("key") == "full_state"]
    assert frames
    for frame in frames:
        event = parse_event(frame)
        assert isinstance(event, ConversationStateUpdateEvent) and event.is_snapshot and event.is_transient
        state = ConversationState.model_validate(event.value)
        assert state.status is not ExecutionStatus.UNKNOWN
        assert "title" not in event.value


def test_stats_give_cost_and_tokens():
    path = next(p for p in FILES if p.stem == "tool_call")
    stats = [f["value"] for f in ws_frames(path) if f.get("key") == "stats"]
    totals = UsageTotals.from_stats(stats[-1])
    assert totals.prompt_tokens > 0 and totals.completion_tokens > 0
    assert totals.total_tokens == totals.prompt_tokens + totals.completion_tokens


def test_streaming_and_agent_message_models():
    path = next(p for p in FILES if p.stem == "streaming")
    events = [parse_event(f) for f in ws_frames(path)]
    deltas = [e for e in events if isinstance(e, StreamingDeltaEvent)]
    assert deltas and deltas[0].content == "" and deltas[0].is_transient
    agent_text = [e.text for e in events if isinstance(e, MessageEvent) and e.source == "agent"]
    streamed = "".join(d.content or "" for d in deltas)
    assert agent_text and agent_text[0] in streamed
    actions = [e for e in events if isinstance(e, ActionEvent)]
    assert actions and actions[0].tool_name


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "BrandNewEvent", "id": "x1", "timestamp": "2026-01-01T00:00:00", "whatever": [1, 2]},
        {"kind": "MessageEvent", "id": "x2"},  # known kind, required field missing
        {"no_kind": True},
        ["not", "an", "object"],
        "a string",
        None,
        {"kind": 5, "id": 7},
    ],
)
def test_unknown_and_malformed_become_a_generic_event(value):
    event = parse_event(value)
    assert isinstance(event, UnknownEvent)
    if isinstance(value, dict):
        assert event.to_wire() == value


def test_status_terminal_set():
    assert {s for s in ExecutionStatus if s.is_terminal()} == {
        ExecutionStatus.FINISHED,
        ExecutionStatus.ERROR,
        ExecutionStatus.STUCK,
    }
    assert ExecutionStatus.parse("RUNNING") is ExecutionStatus.RUNNING
    assert ExecutionStatus.parse("weird") is ExecutionStatus.UNKNOWN
