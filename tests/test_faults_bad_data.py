"""Bad data is data: timestamps that do not parse or are out of range (Go's zero time, a number, the far future)
are handled where they arrive (the event keeps its kind and text, what the server sent is kept, it is ordered
by its arrival); an event nested about 255 levels deep is kept and can be written back out; a crash of the app
exits non-zero."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tui.client import decode_frame
from tui.headless.export import to_json
from tui.protocol import ConversationInfo, MessageEvent, parse_event
from tui.sanitize import json_text
from tui.session import Timeline


def message(eid: str, timestamp, text: str = "hello") -> dict:
    return {
        "kind": "MessageEvent",
        "id": eid,
        "timestamp": timestamp,
        "source": "agent",
        "llm_message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
    }


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00",
        1767225600,
        1767225600123,
        1.5e9,
        "9999-12-31T23:59:59",
        "yesterday",
        "2026-13-45T99:99:99",
        True,
        {"a": 1},
    ],
    ids=[
        "Go zero time",
        "year 1",
        "epoch s",
        "epoch ms",
        "float",
        "far future",
        "words",
        "impossible",
        "bool",
        "object",
    ],
)
def test_a_bad_timestamp_keeps_the_event_and_what_the_server_sent(timestamp):
    event = parse_event(message("m1", timestamp, "the text stays"))
    assert isinstance(event, MessageEvent), "the message was turned into an unknown event"
    assert event.text == "the text stays"
    parsed = datetime.fromisoformat(event.timestamp)  # usable for ordering and windows
    assert 1970 <= parsed.year <= datetime.now().year + 1
    assert event.to_wire()["timestamp"] == timestamp  # what arrived is kept and written out as it came


def test_a_good_timestamp_is_untouched():
    event = parse_event(message("m1", "2026-08-22T16:40:01.512345"))
    assert event.timestamp == "2026-08-22T16:40:01.512345" and "timestamp_raw" not in event.to_wire()


def test_a_far_future_event_does_not_stay_pinned_to_the_bottom():
    timeline = Timeline()
    now = datetime.now()
    timeline.merge([parse_event(message("a", now.isoformat()))])
    timeline.merge([parse_event(message("future", "9999-12-31T23:59:59"))])
    time.sleep(0.01)
    later = datetime.now().isoformat()
    timeline.merge([parse_event(message("b", later))])
    assert [e.id for e in timeline] == ["a", "future", "b"], "a far-future event sorts after everything forever"


def test_a_reconnect_window_from_year_one_does_not_crash():
    from tui.session.conversation import _earlier

    assert _earlier("0001-01-01T00:00:00", __import__("datetime").timedelta(seconds=30)) is None


def test_an_event_nested_255_levels_is_kept_and_written_back_out():
    deep: dict = {"leaf": "bottom"}
    for _ in range(255):
        deep = {"a": deep}
    frames = [decode_frame(json.dumps({**message(f"m{i}", "2026-01-01T00:00:00"), "extra": deep})) for i in range(3)]
    events = [f.event for f in frames]
    assert all(isinstance(e, MessageEvent) for e in events)
    for event in events:
        wire = event.to_wire()  # pydantic refuses to serialise this deep; the event is written field by field
        assert wire["id"] == event.id and wire["llm_message"]["content"][0]["text"] == "hello"
        assert "bottom" in json_text(wire)
    out = json.loads(to_json(ConversationInfo(id="c"), events))
    assert [e["id"] for e in out["events"]] == ["m0", "m1", "m2"], "the batch was dropped"


def test_a_crash_of_the_app_exits_non_zero(demo_server, monkeypatch, tmp_path):
    from textual.app import App

    import tui.app.app as app_module
    from tui.cli import main

    def crash(self):
        raise RuntimeError("a bug in the app")

    monkeypatch.setattr(app_module.OpenHandsApp, "compose", crash)
    monkeypatch.setattr(app_module.OpenHandsApp, "run", lambda self, **kw: App.run(self, headless=True))
    monkeypatch.setenv("OPENHANDS_TUI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OPENHANDS_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    assert main(["--server", demo_server.base_url]) != 0
