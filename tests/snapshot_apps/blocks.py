"""A deterministic app showing one `EventLog` fed from recorded events, for snapshot tests of each block kind.

The events come from the real-server recordings in `tests/data/transcripts-1.58/` (file edits, a plan, reasoning,
an interrupt) plus a few made here (coloured terminal output, repeated errors). Nothing reads a clock: durations
come from the events' own timestamps, the spinner is off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult

from tui.app.widgets.event_log import EventLog
from tui.protocol import Event, parse_event

DATA = Path(__file__).parent.parent / "data" / "transcripts-1.58"


def recorded(name: str) -> list[Event]:
    """The events a client received over the socket in a recording, once each, in order (deltas left out)."""
    events: list[Event] = []
    seen: set[str] = set()
    for raw in (DATA / f"{name}.jsonl").read_text().splitlines():
        line = json.loads(raw)
        body = line.get("body")
        if line.get("channel") != "ws" or line.get("method") != "recv" or not isinstance(body, dict):
            continue
        if "kind" not in body or not body.get("id") or body["id"] in seen:
            continue
        seen.add(body["id"])
        event = parse_event(body)
        if not event.is_transient:
            events.append(event)
    return events


def after(events: list[Event], text: str) -> list[Event]:
    """The events from the user message holding `text` on (one turn of a recording with several)."""
    for index, event in enumerate(events):
        if event.kind == "MessageEvent" and text in json.dumps(event.to_wire()):
            return events[index:]
    raise LookupError(text)


def _ts(second: float) -> str:
    return f"2026-11-26T01:40:{second:06.3f}"


def _event(kind: str, n: int, second: float, **fields: Any) -> Event:
    return parse_event({"kind": kind, "id": f"{kind[:3].lower()}-{n}", "timestamp": _ts(second), **fields})


def user(n: int, second: float, text: str) -> Event:
    return _event(
        "MessageEvent",
        n,
        second,
        source="user",
        llm_message={"role": "user", "content": [{"type": "text", "text": text}]},
    )


def status(n: int, second: float, value: str) -> Event:
    return _event("ConversationStateUpdateEvent", n, second, source="environment", key="execution_status", value=value)


def terminal(n: int, second: float, command: str, output: str, exit_code: int, took: float) -> list[Event]:
    call = f"call_{n}"
    action = _event(
        "ActionEvent",
        n,
        second,
        source="agent",
        tool_name="terminal",
        tool_call_id=call,
        summary="run the tests",
        action={"command": command, "kind": "TerminalAction"},
    )
    observation = _event(
        "ObservationEvent",
        n,
        second + took,
        source="environment",
        tool_name="terminal",
        tool_call_id=call,
        action_id=action.id,
        observation={
            "content": [{"type": "text", "text": output}],
            "exit_code": exit_code,
            "is_error": False,
            "kind": "TerminalObservation",
        },
    )
    return [action, observation]


PYTEST_OUTPUT = "\n".join(
    [
        "\x1b[1m============================= test session starts ==============================\x1b[0m",
        "collected 14 items",
        "",
        *[f"tests/test_pages.py::test_page_{i:02d} \x1b[32mPASSED\x1b[0m" for i in range(1, 12)],
        "tests/test_pages.py::test_last_page \x1b[31mFAILED\x1b[0m\x1b]0;owned\x07\x1b]52;c;ZXZpbA==\x07",
        "\x1b[31m=================== \x1b[1m1 failed\x1b[0m\x1b[31m, \x1b[32m11 passed\x1b[0m\x1b[31m in 0.42s ===================\x1b[0m",
    ]
)


def tool_scene() -> list[Event]:
    return [
        user(1, 1.0, "Run the tests."),
        status(1, 1.1, "running"),
        *terminal(2, 1.5, "python -m pytest -q tests/test_pages.py", PYTEST_OUTPUT, 1, 2.4),
        *terminal(3, 4.2, "git status --short", "\x1b[31m M\x1b[0m app/pages.py", 0, 0.3),
    ]


def errors_scene() -> list[Event]:
    error = {
        "source": "environment",
        "code": "LLMError",
        "detail": "litellm.APIConnectionError: connection refused by the model endpoint",
    }
    return [
        user(1, 1.0, "[error] try the model"),
        status(1, 1.1, "running"),
        _event("ConversationErrorEvent", 1, 3.0, **error),
        _event("ConversationErrorEvent", 2, 3.1, **error),
        _event("ConversationErrorEvent", 3, 3.2, **error),
        status(2, 3.3, "error"),
    ]


def scene_events(scene: str) -> list[Event]:
    if scene in ("tool", "tool_unfolded"):
        return tool_scene()
    if scene in ("diff", "created", "footer"):
        return recorded("file_edit")
    if scene == "plan":
        return recorded("plan")
    if scene == "reasoning":
        return after(recorded("think"), "(not streamed)")
    if scene == "errors":
        return errors_scene()
    if scene == "interrupted":
        return after(recorded("interrupt"), "[slowbash]")
    raise ValueError(scene)


class BlocksApp(App):
    CSS = "Screen { layout: vertical; }"

    def __init__(self, scene: str) -> None:
        super().__init__()
        self.scene = scene
        self.log_view = EventLog(id="event-log")
        self.log_view.spin = False

    def compose(self) -> ComposeResult:
        yield self.log_view

    async def on_mount(self) -> None:
        await self.log_view.show(scene_events(self.scene))
        self.log_view.focus()
