"""Agent server 1.58.2: every recorded frame and body parses into a typed model and round-trips, and the typed
views a client renders (risk, plan, file edits, reasoning, runtime, server version) read what was recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.transcripts import TRANSCRIPTS, TRANSCRIPTS_158, lines, rest_event_bodies, transcript_files
from tui.protocol import (
    ActionEvent,
    ChildConversation,
    ConversationInfo,
    ConversationPage,
    DeltaFrame,
    DurableFrame,
    ExecutionStatus,
    GitChange,
    GitDiff,
    ItemAbortedFrame,
    ItemStartedFrame,
    MessageEvent,
    ObservationEvent,
    RuntimeInfo,
    RuntimeStatus,
    SecurityAnalysisEvent,
    SecurityRisk,
    ServerInfo,
    SessionErrorFrame,
    StreamingDeltaEvent,
    SyncFrame,
    ToolCatalog,
    TransientFrame,
    UnknownEvent,
    UnknownFrame,
    parse_event,
    parse_session_frame,
    risk_label,
    risk_of,
)

FILES = transcript_files(TRANSCRIPTS_158)


def by_name(name: str) -> Path:
    return next(p for p in FILES if p.stem == name)


def socket_bodies(path: Path, socket: str) -> Iterator[dict[str, Any]]:
    """Received frames of one socket kind ("events" or "session")."""
    for line in lines(path):
        if (
            line["channel"] == "ws"
            and line["method"] == "recv"
            and f"/sockets/{socket}/" in line["path"]
            and isinstance(line.get("body"), dict)
        ):
            yield line["body"]


def rest_bodies(path: Path, route_suffix: str, method: str = "GET") -> Iterator[Any]:
    for line in lines(path):
        if (
            line["channel"] == "rest"
            and line["method"] == method
            and line.get("status") in (200, 201)
            and line["path"].split("?")[0].endswith(route_suffix)
        ):
            yield line["body"]


def timeline(path: Path) -> list[Any]:
    """The events of every socket of a recording, in arrival order (session envelopes unwrapped)."""
    out = []
    for line in lines(path):
        if line["channel"] != "ws" or line["method"] != "recv" or not isinstance(line.get("body"), dict):
            continue
        body = line["body"]
        if "/sockets/session/" in line["path"]:
            body = body.get("event")
            if body is None:
                continue
        out.append(parse_event(body))
    return out


def test_the_158_recordings_are_present_and_byte_identical_to_their_names():
    assert len(FILES) == 32
    names = {p.stem for p in FILES}
    # every 1.43 scenario was re-recorded under the same name
    assert {p.stem for p in transcript_files(TRANSCRIPTS)} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_events_socket_frame_parses_to_a_known_kind_and_round_trips(path):
    for frame in socket_bodies(path, "events"):
        event = parse_event(frame)
        assert not isinstance(event, UnknownEvent), (frame.get("kind"), getattr(event, "parse_error", None))
        assert event.kind == frame["kind"]
        assert event.to_wire() == frame


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_session_socket_frame_parses_to_a_known_type_and_round_trips(path):
    for body in socket_bodies(path, "session"):
        frame = parse_session_frame(body)
        assert not isinstance(frame, UnknownFrame), (body.get("type"), getattr(frame, "parse_error", None))
        assert frame.type == body["type"]
        assert frame.to_wire() == body
        if isinstance(frame, (DurableFrame, TransientFrame)):
            assert not isinstance(frame.event, UnknownEvent), body["event"].get("kind")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_rest_event_parses_and_round_trips(path):
    for body in rest_event_bodies(path):
        event = parse_event(body)
        assert not isinstance(event, UnknownEvent), body.get("kind")
        assert event.to_wire() == body


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_conversation_bodies_parse_and_round_trip(path):
    for line in lines(path):
        if line["channel"] != "rest" or line.get("status") not in (200, 201):
            continue
        body, route = line["body"], line["path"].split("?")[0]
        if route.endswith("/conversations/search"):
            page = ConversationPage.model_validate(body)
            assert page.to_wire() == body
            assert all(item.runtime_info is not None for item in page.items)
        elif isinstance(body, dict) and "execution_status" in body and "workspace" in body:
            info = ConversationInfo.model_validate(body)
            assert info.to_wire() == body
            assert info.status is not ExecutionStatus.UNKNOWN
        elif isinstance(body, list) and route.endswith("/api/conversations"):
            infos = [None if item is None else ConversationInfo.model_validate(item) for item in body]
            assert [i.to_wire() if i else None for i in infos] == body


def test_session_frames_are_typed():
    path = by_name("session_socket")
    frames = [parse_session_frame(b) for b in socket_bodies(path, "session")]
    kinds = {type(f) for f in frames}
    assert {SyncFrame, DurableFrame, TransientFrame, ItemStartedFrame, DeltaFrame, ItemAbortedFrame} <= kinds
    assert SessionErrorFrame in kinds
    full = next(f for f in frames if isinstance(f, SyncFrame) and f.from_seq == -1)
    assert full.through_seq == 11
    started = next(f for f in frames if isinstance(f, ItemStartedFrame))
    closing = [f for f in frames if isinstance(f, DurableFrame) and f.event.id == started.item_id]
    assert closing, "the stream slot is closed by the durable event with its id"
    aborted = next(f for f in frames if isinstance(f, ItemAbortedFrame))
    assert aborted.reason == "cancelled"


def test_reasoning_reaches_both_sockets_and_the_final_message():
    path = by_name("think")
    reasoning_deltas = [
        f for f in map(parse_session_frame, socket_bodies(path, "session")) if isinstance(f, DeltaFrame)
    ]
    assert any(f.is_reasoning for f in reasoning_deltas) and any(not f.is_reasoning for f in reasoning_deltas)
    legacy = [parse_event(b) for b in socket_bodies(path, "events")]
    streamed = "".join(e.reasoning_content or "" for e in legacy if isinstance(e, StreamingDeltaEvent))
    final = [e for e in legacy if isinstance(e, MessageEvent) and e.source == "agent" and e.reasoning]
    assert final and streamed and final[0].reasoning.startswith(streamed[:10])
    assert "forty-two" in final[-1].reasoning


def test_security_analysis_gives_the_risk_of_the_pending_action():
    events = timeline(by_name("risk_confirmation"))
    analyses = [e for e in events if isinstance(e, SecurityAnalysisEvent)]
    assert analyses and all(a.analyzer == "LLMSecurityAnalyzer" and a.policy == "ConfirmRisky" for a in analyses)
    assert analyses[0].to_wire()["kind"] == "SecurityAnalysisEvent"

    # The action the conversation waits on: the last action before `waiting_for_confirmation`.
    pending = None
    for event in events:
        if isinstance(event, ActionEvent):
            pending = event
        if getattr(event, "key", None) == "execution_status" and event.value == "waiting_for_confirmation":
            break
    assert pending is not None and pending.tool_name == "terminal"
    assert risk_of(pending.id, events) is SecurityRisk.HIGH
    assert risk_label(risk_of(pending.id, events)) == "high risk"
    # Without the analysis the action's own field says the same; with nothing at all, None.
    assert risk_of(pending.id, [e for e in events if not isinstance(e, SecurityAnalysisEvent)]) is SecurityRisk.HIGH
    assert risk_of(pending.id, []) is None
    assert risk_label(None) == "risk unknown"

    # A LOW command ran without asking; `finish` is never analysed and stays UNKNOWN.
    low = [a for a in analyses if SecurityRisk.LOW in {SecurityRisk.parse(v) for v in a.risks.values()}]
    assert low
    finishes = [e for e in events if isinstance(e, ActionEvent) and e.tool_name == "finish"]
    assert finishes and all(risk_of(f.id, events) is SecurityRisk.UNKNOWN for f in finishes)


def test_a_later_analysis_overrides_the_actions_own_risk():
    action = parse_event({"kind": "ActionEvent", "id": "a1", "security_risk": "LOW", "tool_name": "terminal"})
    later = parse_event({"kind": "SecurityAnalysisEvent", "id": "s1", "risks": {"a1": "high", "zz": "weird"}})
    assert isinstance(later, SecurityAnalysisEvent)
    assert risk_of("a1", [action]) is SecurityRisk.LOW
    assert risk_of("a1", [action, later]) is SecurityRisk.HIGH
    assert later.risk_for("zz") is SecurityRisk.UNKNOWN and later.risk_for("nope") is None


def test_the_task_tracker_plan_is_typed():
    events = timeline(by_name("plan"))
    action = next(e for e in events if isinstance(e, ActionEvent) and e.tool_name == "task_tracker")
    plan = action.task_list
    assert plan is not None
    assert [t.status for t in plan] == ["done", "in_progress", "todo"]
    assert plan[0].title == "Read the failing test" and plan[0].notes == "tests/test_app.py"
    observation = next(e for e in events if isinstance(e, ObservationEvent) and e.task_list is not None)
    assert observation.task_list == plan
    finish = next(e for e in events if isinstance(e, ActionEvent) and e.tool_name == "finish")
    assert finish.task_list is None
    aliased = parse_event(
        {
            "kind": "ActionEvent",
            "action": {
                "kind": "TaskTrackerAction",
                "task_list": [{"title": "x", "status": "completed", "notes": None}],
            },
        }
    )
    assert isinstance(aliased, ActionEvent) and aliased.task_list is not None
    assert aliased.task_list[0].status == "done" and aliased.task_list[0].notes == ""


def test_file_editor_observations_carry_before_and_after():
    events = timeline(by_name("file_edit"))
    edits = [e.file_edit for e in events if isinstance(e, ObservationEvent) and e.file_edit is not None]
    create = next(e for e in edits if e.command == "create")
    assert create.prev_exist is False and create.old_content is None and create.changed
    assert create.path.endswith("/hello.py") and "def greet" in (create.new_content or "")
    replace = next(e for e in edits if e.command == "str_replace")
    assert replace.prev_exist is True
    assert '"Hello, " + name' in (replace.old_content or "") and 'f"Hello, {name}!"' in (replace.new_content or "")
    terminal = [e for e in events if isinstance(e, ObservationEvent) and e.tool_name == "terminal"]
    assert terminal and all(e.file_edit is None for e in terminal)


def test_runtime_info_links_and_tags():
    gets = [ConversationInfo.model_validate(b) for b in rest_bodies(by_name("runtime_info"), "") if _is_info(b)]
    assert gets
    with_runtime = [g for g in gets if g.runtime_info is not None]
    assert with_runtime and all(g.runtime_info.status is RuntimeStatus.AVAILABLE for g in with_runtime)
    assert all(g.runtime_problem == "" for g in gets)
    created = [
        ConversationInfo.model_validate(b) for b in rest_bodies(by_name("runtime_info"), "/api/conversations", "POST")
    ]
    assert created and all(c.runtime_info is None for c in created)
    assert any(g.tool_module_qualnames.get("terminal", "").startswith("openhands.tools.") for g in gets)

    runtime = [RuntimeInfo.model_validate(b) for b in rest_bodies(by_name("runtime_info"), "/runtime")]
    assert runtime and runtime[0].is_usable and runtime[0].can_resume

    broken = RuntimeInfo.model_validate(
        {"runtime_status": "error", "can_resume": True, "runtime_error": {"code": "E1", "message": "sandbox died"}}
    )
    assert not broken.is_usable and broken.status is RuntimeStatus.ERROR
    assert broken.problem == "the runtime failed: sandbox died; it can be reprovisioned"
    assert RuntimeInfo.model_validate({"runtime_status": "ownership_lost", "can_resume": False}).problem.endswith(
        "cannot be resumed"
    )
    assert RuntimeInfo.model_validate({"runtime_status": "brand_new"}).status is RuntimeStatus.UNKNOWN

    infos = [ConversationInfo.model_validate(b) for b in rest_bodies(by_name("children"), "") if _is_info(b)]
    parents = [i for i in infos if i.sub_conversation_ids]
    children = [i for i in infos if i.parent_conversation_id]
    assert parents and children
    assert {c.id for c in children} <= {sub for p in parents for sub in p.sub_conversation_ids}
    assert any(i.forked_from_conversation_id for i in infos)
    assert any(i.tags == {"team": "tui", "ticket": "42"} for i in infos)


def _is_info(body: Any) -> bool:
    return isinstance(body, dict) and "execution_status" in body and "workspace" in body


def test_server_info_version_and_capabilities():
    new = ServerInfo.model_validate(next(rest_bodies(by_name("health"), "/server_info")))
    assert new.version_tuple == (1, 58, 2) and new.supports_session_socket
    assert new.has_capability("tool_catalog_v1") and new.supports_runtime_routes and new.supports_tool_catalog
    assert not new.has_capability("no_such_capability_v1")
    assert new.conversation_runtime == "local"
    assert new.to_wire() == next(rest_bodies(by_name("health"), "/server_info"))

    old_body = next(rest_bodies(TRANSCRIPTS / "health.jsonl", "/server_info"))
    old = ServerInfo.model_validate(old_body)
    assert old.version_tuple == (1, 43, 1) and not old.supports_session_socket
    assert old.capabilities == [] or not old.supports_runtime_routes
    assert ServerInfo.model_validate({"version": "unknown"}).version_tuple is None
    assert not ServerInfo.model_validate({"version": "main-abc"}).supports_session_socket
    assert ServerInfo.model_validate({"version": "1.46"}).supports_session_socket
    assert not ServerInfo.model_validate({"version": "1.45.9"}).supports_session_socket


def test_children_git_and_catalog_bodies():
    children = [ChildConversation.model_validate(b) for b in rest_bodies(by_name("children"), "/children", "POST")]
    assert [c.isolation for c in children] == ["shared", "worktree"]
    assert all(c.parent_conversation_id and c.conversation_id for c in children)
    for body in rest_bodies(by_name("children"), "/children", "POST"):
        assert ChildConversation.model_validate(body).to_wire() == body

    changes = [[GitChange.model_validate(c) for c in b] for b in rest_bodies(by_name("file_edit"), "/git/changes")]
    assert [(c.status, c.path) for c in changes[-1]] == [("UPDATED", "README.md"), ("ADDED", "hello.py")]
    diffs = [GitDiff.model_validate(b) for b in rest_bodies(by_name("file_edit"), "/git/diff")]
    assert diffs[0].original == "" and "def greet" in (diffs[0].modified or "")

    catalog = ToolCatalog.model_validate(next(rest_bodies(by_name("tools_catalog"), "/tools/catalog")))
    body = next(rest_bodies(by_name("tools_catalog"), "/tools/catalog"))
    assert catalog.to_wire() == body and len(catalog.tools) == len(body["tools"])
    offered = {t.name for t in catalog.offerable}
    assert {"file_editor", "terminal", "task_tracker"} <= offered
    assert "browser_tool_set" not in offered  # in the default set but not usable there


@pytest.mark.parametrize(
    "value",
    [
        {"type": "brand_new_frame", "x": 1},
        {"type": "durable", "event": {"kind": "MessageEvent"}},  # no seq
        {"type": "delta"},  # no item id
        {"no_type": True},
        ["a", "list"],
        None,
    ],
)
def test_unknown_and_malformed_session_frames_become_unknown_frames(value):
    frame = parse_session_frame(value)
    assert isinstance(frame, UnknownFrame)
    if isinstance(value, dict):
        assert frame.to_wire() == value


def test_a_durable_frame_with_an_unknown_event_kind_keeps_it():
    body = {"type": "durable", "seq": 3, "event": {"kind": "FutureEvent", "id": "e", "stuff": [1]}}
    frame = parse_session_frame(body)
    assert isinstance(frame, DurableFrame) and frame.seq == 3 and isinstance(frame.event, UnknownEvent)
    assert frame.to_wire() == body
    assert json.loads(json.dumps(frame.to_wire())) == body
