"""A deterministic app for snapshot tests: fixed servers, conversations, events and a frozen clock; no server.

`build_app(scene)` returns an `OpenHandsApp` on a fake fleet whose sessions hold fixed data and whose workers
just wait. Scenes: "main" (a busy conversation with every kind of event, a queue, reconnecting),
"confirmation" (waiting for approval), "empty" (nothing open).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.snapshot_apps.harness import Prefs
from tui.config import ServerConfig
from tui.protocol import ConversationInfo, ExecutionStatus, UsageTotals, parse_event
from tui.session import Connection, ConnectionState, OrphanedText, Outbox, ServerState, Timeline, TokenBuffer, Turn

NOW = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def iso(seconds_ago: float) -> str:
    return datetime.fromtimestamp(NOW - seconds_ago, tz=UTC).isoformat().replace("+00:00", "Z")


def stats(cost: float, prompt: int, completion: int) -> dict:
    return {
        "usage_to_metrics": {
            "agent": {
                "accumulated_cost": cost,
                "accumulated_token_usage": {"prompt_tokens": prompt, "completion_tokens": completion},
            }
        }
    }


def info(cid: str, title: str, status: str, ago: float, cost: float = 0.0, confirm: bool = False) -> ConversationInfo:
    return ConversationInfo(
        id=cid,
        title=title,
        execution_status=status,
        updated_at=iso(ago),
        created_at=iso(ago + 600),
        stats=stats(cost, int(cost * 100000), int(cost * 9000)),
        agent={"llm": {"model": "anthropic/claude-sonnet-4-5"}},
        workspace={"working_dir": "/srv/app"},
        confirmation_policy={"kind": "AlwaysConfirm" if confirm else "NeverConfirm"},
    )


def msg(n: int, source: str, text: str, ago: float) -> dict:
    return {
        "kind": "MessageEvent",
        "id": f"m{n}",
        "timestamp": iso(ago),
        "source": source,
        "llm_message": {
            "role": "user" if source == "user" else "assistant",
            "content": [{"type": "text", "text": text}],
        },
    }


def main_events() -> list[dict]:
    output = "\n".join(f"tests/test_{i:02d}.py::test_case PASSED" for i in range(1, 13))
    return [
        {"kind": "SystemPromptEvent", "id": "e0", "timestamp": iso(900), "source": "agent", "tools": [{}, {}, {}]},
        msg(
            1,
            "user",
            "Fix the failing **login** test, then run the suite.\n\n- keep the API\n- [bold]no markup[/bold]",
            880,
        ),
        {
            "kind": "ConversationStateUpdateEvent",
            "id": "s1",
            "timestamp": iso(879),
            "source": "environment",
            "key": "execution_status",
            "value": "running",
        },
        {
            "kind": "ActionEvent",
            "id": "a1",
            "timestamp": iso(870),
            "source": "agent",
            "tool_name": "terminal",
            "summary": "Run the test suite",
            "thought": [{"type": "text", "text": "Start by reproducing the failure."}],
            "action": {"kind": "TerminalAction", "command": "pytest -q tests/"},
        },
        {
            "kind": "ObservationEvent",
            "id": "o1",
            "timestamp": iso(860),
            "source": "environment",
            "tool_name": "terminal",
            "observation": {"content": [{"type": "text", "text": output + "\x1b[31m red?\x1b[0m"}]},
        },
        {
            "kind": "AgentErrorEvent",
            "id": "x1",
            "timestamp": iso(850),
            "source": "agent",
            "tool_name": "terminal",
            "error": "Tool call interrupted before completion.",
            "classification": {"kind": "tool_interrupted", "retryable": True, "user_action": "none"},
        },
        {"kind": "InterruptEvent", "id": "i1", "timestamp": iso(845), "source": "user"},
        {
            "kind": "ConversationStateUpdateEvent",
            "id": "s2",
            "timestamp": iso(844),
            "source": "environment",
            "key": "execution_status",
            "value": "paused",
        },
        {
            "kind": "FancyNewEvent",
            "id": "u1",
            "timestamp": iso(840),
            "source": "agent",
            "detail": "a kind from the future",
        },
        msg(2, "agent", "## Done\n\nThe login test **passes** now:\n\n```python\nassert login('a', 'b')\n```", 835),
        msg(3, "user", "Now update the changelog.", 120),
        {
            "kind": "ConversationStateUpdateEvent",
            "id": "s3",
            "timestamp": iso(119),
            "source": "environment",
            "key": "execution_status",
            "value": "running",
        },
        {
            "kind": "ActionEvent",
            "id": "a2",
            "timestamp": iso(100),
            "source": "agent",
            "tool_name": "file_editor",
            "summary": "Edit CHANGELOG.md",
            "action": {"kind": "FileEditorAction", "command": "str_replace", "path": "CHANGELOG.md"},
        },
    ]


def confirm_events() -> list[dict]:
    return [
        msg(1, "user", "Clean the build directory.", 300),
        {
            "kind": "ConversationStateUpdateEvent",
            "id": "s1",
            "timestamp": iso(299),
            "source": "environment",
            "key": "execution_status",
            "value": "running",
        },
        {
            "kind": "ActionEvent",
            "id": "a1",
            "timestamp": iso(290),
            "source": "agent",
            "tool_name": "terminal",
            "summary": "Remove the build directory",
            "security_risk": "MEDIUM",
            "action": {"kind": "TerminalAction", "command": "rm -rf build && echo cleaned"},
        },
        {
            "kind": "ConversationStateUpdateEvent",
            "id": "s2",
            "timestamp": iso(289),
            "source": "environment",
            "key": "execution_status",
            "value": "waiting_for_confirmation",
        },
    ]


@dataclass
class Item:
    id: str
    text: str
    state: str = "queued"


@dataclass
class FakeSession:
    id: str
    server_name: str
    info: ConversationInfo
    status: ExecutionStatus
    events: list[dict] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    connection: Connection = field(default_factory=lambda: Connection(ConnectionState.LIVE))
    streaming: str = ""
    orphans: list[OrphanedText] = field(default_factory=list)
    hold: str | None = None
    has_older: bool = False
    can_steer: bool = False  # the fixed screens show a 1.43-style server: no steering
    capacity_wait: str | None = None

    def __post_init__(self) -> None:
        self.timeline = Timeline()
        self.timeline.merge([parse_event(e) for e in self.events])
        self.usage: UsageTotals = self.info.usage
        self.tokens = TokenBuffer(content=self.streaming, orphans=list(self.orphans))
        self.outbox = Outbox()
        for text in self.queued:
            self.outbox.add(text)
        busy = self.status is ExecutionStatus.RUNNING
        self.turn = Turn(active=busy, started_at=NOW - 75 if busy else None)
        self.confirms_actions = self.info.confirms_actions

    @property
    def title(self) -> str:
        return self.info.title or self.id[:8]

    def subscribe(self, callback):
        return lambda: None

    async def run(self) -> None:
        await asyncio.Event().wait()

    def pending_actions(self):
        from tui.protocol import ActionEvent

        return [e for e in self.timeline if isinstance(e, ActionEvent)][-1:]


@dataclass
class FakeEntry:
    config: ServerConfig
    state: ServerState
    message: str = ""
    retry_at: float | None = None
    conversations: dict[str, ConversationInfo] = field(default_factory=dict)
    full: bool = False

    @property
    def name(self) -> str:
        return self.config.name


class FakeFleet:
    def __init__(self, entries: list[FakeEntry], sessions: dict[tuple[str, str], FakeSession]) -> None:
        self.servers = entries
        self.sessions = sessions
        self.state_lock = None  # one window: nothing to warn about

    def subscribe(self, callback):
        return lambda: None

    async def run(self) -> None:
        await asyncio.Event().wait()

    def entry(self, name: str) -> FakeEntry:
        for e in self.servers:
            if e.name == name:
                return e
        raise KeyError(name)

    def session(self, server: str, cid: str) -> FakeSession:
        key = (server, cid)
        if key not in self.sessions:
            e = self.entry(server)
            i = e.conversations[cid]
            self.sessions[key] = FakeSession(cid, server, i, i.status)
        return self.sessions[key]

    def poke(self) -> None:
        pass


# A reply cut mid-markdown: a heading, a list, a paragraph and a code block still being written (its last line is
# longer than 80 columns: cropped with a mark, never wrapped).
STREAMING_REPLY = """## What I changed

The login test failed because the session cookie expired **before** the redirect.

- `auth/session.py`: the cookie lifetime comes from the settings
- `tests/test_login.py`: the test waits for the redirect

### The fix

```python
def cookie_lifetime(settings: Settings) -> int:
    \"\"\"Seconds a session cookie lives; the settings win over the default of one hour (3600 seconds).\"\"\"
    return int(settings.get("session_lifetime", 3600))


def login(client, user):
    response = client.post("/login", data={"user": user.name, "password": user.password})
    assert response.status_code == 302"""


def build_fleet(scene: str) -> tuple[FakeFleet, tuple[str, str] | None]:
    work = {
        i.id: i
        for i in [
            info("c-main", "Fix the login test", "running", 20, 0.42),
            info("c-conf", "Clean the build directory", "waiting_for_confirmation", 290, 0.05, confirm=True),
            info("c-done", "Write release notes", "finished", 3600, 1.27),
            info("c-err", "Migrate the database", "error", 7200, 0.31),
            info("c-stuck", "Refactor the parser", "stuck", 86400 * 2, 2.5),
            info("c-idle", "[red]Untitled[/red] \x1b[1mplayground", "idle", 86400 * 9),
        ]
    }
    entries = [
        FakeEntry(ServerConfig("work", "http://127.0.0.1:8000"), ServerState("ok"), conversations=work),
        FakeEntry(
            ServerConfig("gpu-box", "http://10.0.0.7:8000"),
            ServerState.UNREACHABLE,
            "cannot connect to http://10.0.0.7:8000",
            retry_at=NOW + 12,
        ),
        FakeEntry(ServerConfig("shared", "https://agents.example.org"), ServerState.UNAUTHORIZED, "wrong session key"),
        FakeEntry(ServerConfig("fresh", "http://127.0.0.1:8010"), ServerState.DORMANT, "needs init"),
    ]
    sessions = {
        ("work", "c-main"): FakeSession(
            "c-main",
            "work",
            work["c-main"],
            ExecutionStatus.RUNNING,
            main_events(),
            queued=["Then bump the version", "[finish] and tag the release"],
            connection=Connection(ConnectionState.RECONNECTING, "connection lost", retry_at=NOW + 5),
            streaming="I updated the changelog. Next I will **bump the version** in",
            orphans=[OrphanedText("Let me look at the failing", "", "interrupted")],
        ),
        ("work", "c-conf"): FakeSession(
            "c-conf", "work", work["c-conf"], ExecutionStatus.WAITING_FOR_CONFIRMATION, confirm_events()
        ),
    }
    if scene == "streaming":  # a long reply streaming, stopped inside its code block
        sessions[("work", "c-main")] = FakeSession(
            "c-main", "work", work["c-main"], ExecutionStatus.RUNNING, main_events(), streaming=STREAMING_REPLY
        )
    current = {"main": ("work", "c-main"), "confirmation": ("work", "c-conf"), "streaming": ("work", "c-main")}.get(
        scene
    )
    return FakeFleet(entries, sessions), current


def build_app(scene: str = "main"):
    from tui.app.app import OpenHandsApp

    fleet, current = build_fleet(scene)

    class SnapshotApp(OpenHandsApp):
        async def on_mount(self) -> None:
            super().on_mount()
            self.view.input.cursor_blink = False
            self.watchlist.attention.add(("work", "c-done"))
            self.watchlist.attention.add(("work", "c-err"))
            self.refresh_fleet()
            if current is not None:
                await self.open_conversation(*current)
                self.view.input.focus()
                await self.view.flush_tokens()

    return SnapshotApp(fleet, preferences=Prefs(), clock=lambda: NOW, auto_watch=False, run_fleet=False)
