"""Timeline, token buffer, outbox and config: the pure parts of the session layer."""

from __future__ import annotations

import json

import pytest

from tests.transcripts import TRANSCRIPTS, ws_frames
from tui.config import ConfigError, resolve_servers
from tui.protocol import StreamingDeltaEvent, parse_event
from tui.sanitize import one_line, strip_control
from tui.session import ItemState, Outbox, OutboxStore, Timeline, TokenBuffer


def _frames(name: str):
    return [parse_event(f) for f in ws_frames(TRANSCRIPTS / f"{name}.jsonl")]


def test_timeline_deduplicates_and_orders_by_timestamp():
    events = _frames("tool_call")
    timeline = Timeline()
    first = timeline.merge(events)
    again = timeline.merge(reversed(events))  # a replay in any order adds nothing
    assert again.added == [] and len(timeline) == len(first.added)
    assert all(not e.is_transient for e in timeline)  # snapshots and deltas are not history
    stamps = [e.timestamp for e in timeline]
    assert stamps == sorted(stamps)


def test_timeline_reports_out_of_order_inserts():
    events = [e for e in _frames("simple_text") if not e.is_transient]
    timeline = Timeline()
    assert not timeline.merge(events[2:]).reordered
    assert timeline.merge(events[:2]).reordered


def test_chat_events_leave_out_state_updates():
    timeline = Timeline()
    timeline.merge(_frames("simple_text"))
    assert {e.kind for e in timeline.chat_events()} == {"SystemPromptEvent", "MessageEvent"}


def test_pending_actions_are_the_unanswered_ones():
    timeline = Timeline()
    frames = _frames("confirmation")
    timeline.merge(frames)
    actions = [e for e in timeline if e.kind == "ActionEvent"]
    assert actions
    pending = timeline.pending_actions()
    answered = {
        getattr(e, "action_id", None) for e in timeline if e.kind in ("ObservationEvent", "UserRejectObservation")
    }
    assert all(a.id not in answered for a in pending)


def test_token_buffer_settles_and_keeps_orphans():
    buf = TokenBuffer()
    for piece in ("", "Hel", "lo"):
        buf.feed(StreamingDeltaEvent(kind="StreamingDeltaEvent", content=piece))
    assert buf.content == "Hello" and buf.active
    assert buf.orphan("interrupted") and buf.orphans[-1].text == "Hello" and not buf.active
    buf.feed(StreamingDeltaEvent(kind="StreamingDeltaEvent", content="x", reasoning_content="why"))
    assert buf.reasoning == "why"
    assert buf.settle() and not buf.active and len(buf.orphans) == 1


def test_outbox_edit_remove_move_and_persist(tmp_path):
    store = OutboxStore(tmp_path)
    box = Outbox(store, "http://s:1", "c1")
    a, b, c = (box.add(t) for t in ("a", "b", "c"))
    assert box.move(c.id, -5) and [i.text for i in box.items] == ["c", "a", "b"]
    assert box.edit(a.id, "A") and not box.edit(a.id, "   ")
    assert box.remove(b.id)
    reloaded = Outbox(store, "http://s:1", "c1")
    assert [i.text for i in reloaded.items] == ["c", "A"]
    box.begin_send(box.items[0], ["known"])
    assert not box.edit(box.items[0].id, "changed while sending")
    assert not box.move(box.items[1].id, -1), "nothing jumps ahead of an item being sent"
    reloaded = Outbox(store, "http://s:1", "c1")
    assert reloaded.items[0].state is ItemState.SENDING and reloaded.items[0].known_ids == ["known"]
    assert Outbox(store, "http://s:1", "other").items == []


def test_outbox_damaged_file_is_kept_aside(tmp_path):
    store = OutboxStore(tmp_path)
    path = store.path_for("http://s:1", "c1")
    path.write_text("{not json")
    assert Outbox(store, "http://s:1", "c1").items == []
    assert path.with_suffix(".damaged").exists()


def test_outbox_write_is_atomic(tmp_path):
    store = OutboxStore(tmp_path)
    box = Outbox(store, "http://s:1", "c1")
    box.add("hello")
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and json.loads(files[0].read_text())["items"][0]["text"] == "hello"


def test_servers_from_flags_env_and_file():
    env = {"K": "secret"}
    servers = resolve_servers(["http://a:1", "https://b.example/prefix/"], "K", env=env, file_config={})
    assert [s.url for s in servers] == ["http://a:1", "https://b.example/prefix"]
    assert all(s.session_key == "secret" for s in servers)
    assert "secret" not in repr(servers)
    servers = resolve_servers(
        None,
        None,
        env={"OPENHANDS_TUI_SERVERS": "http://x:2,http://y:3", "OPENHANDS_TUI_SESSION_KEY": "k2"},
        file_config={},
    )
    assert [s.session_key for s in servers] == ["k2", "k2"]
    servers = resolve_servers(
        None,
        None,
        env={"PK": "pk"},
        file_config={
            "servers": [
                {"name": "prod", "url": "https://prod.example", "session_key_env": "PK"},
                {"url": "http://dev:8000"},
            ]
        },
    )
    assert [(s.name, s.session_key) for s in servers] == [("prod", "pk"), ("dev:8000", None)]
    assert resolve_servers(None, None, env={}, file_config={}) == []


@pytest.mark.parametrize("bad", ["ftp://x", "localhost:8000", "http://user:pw@h", "http://h:99999"])
def test_bad_urls_are_refused_clearly(bad):
    with pytest.raises(ConfigError, match=r"URL|port"):
        resolve_servers([bad], None, env={}, file_config={})


def test_missing_key_variable_is_named():
    with pytest.raises(ConfigError, match="NOPE"):
        resolve_servers(["http://a:1"], "NOPE", env={}, file_config={})


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b]52;c;aGVsbG8=\x07b", "ab"),
        ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("x\x9b2Jy\x85z", "xyz"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("[bold red]not markup[/]", "[bold red]not markup[/]"),
        ("\x00\x07\x08nul bell bs", "nul bell bs"),
    ],
)
def test_strip_control(raw, shown):
    assert strip_control(raw) == shown


def test_one_line_folds_and_cuts():
    assert one_line("a\n b\x1b[1m c", 5) == "a b c"
    assert one_line("a\n b\x1b[1m cd", 5) == "a b …"


def test_stream_slots_keyed_by_item_and_attempt():
    buf = TokenBuffer()
    assert not buf.open_slot("a", 1, anchor_seq=4)
    for order, piece in enumerate(["He", "llo"]):
        assert buf.add_delta("a", 1, order, "text", piece)
    assert buf.content == "Hello" and not buf.lossy
    assert not buf.add_delta("a", 1, 1, "text", "llo"), "a repeated delta is dropped"
    assert buf.open_slot("a", 2), "a provider retry (higher attempt) replaces the text"
    assert buf.content == "" and not buf.add_delta("a", 1, 2, "text", "late"), "the old attempt is dropped"
    buf.add_delta("a", 2, 0, "reasoning", "why ")
    buf.add_delta("a", 2, 1, "text", "Hi")
    assert (buf.reasoning, buf.content) == ("why ", "Hi")
    assert buf.close_slot("a") and not buf.active and not buf.orphans


def test_a_gap_or_a_slot_joined_late_is_lossy_and_an_abort_keeps_the_text():
    buf = TokenBuffer()
    buf.add_delta("b", 1, 7, "text", " tok7")  # after a reconnect: no item_started, not from the start
    assert buf.lossy and buf.content == " tok7"
    buf.open_slot("c", 1)
    buf.add_delta("c", 1, 0, "text", "x")
    buf.add_delta("c", 1, 2, "text", "z")  # order 1 was dropped
    assert buf.slots["c"].lossy and buf.content == " tok7xz"
    assert buf.abort_slot("c", 1, "cancelled")
    assert [(o.text, o.reason) for o in buf.orphans] == [("xz", "interrupted")]
    assert buf.content == " tok7" and buf.close_slot("b") and not buf.active
