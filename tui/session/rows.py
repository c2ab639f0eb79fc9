"""The list's rows as plain data, and the keys that name them: light enough for the UI's first frame."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.protocol.status import ExecutionStatus

Key = tuple[str, str]  # (server name, conversation id)


@dataclass(slots=True)
class ConvRow:
    """One conversation's line in the list."""

    server: str
    id: str
    title: str
    status: ExecutionStatus = ExecutionStatus.IDLE
    last_activity: float | None = None
    cost: float = 0.0
    queued: int = 0
    attention: bool = False
    pinned: bool = False
    connection: str = ""  # "", "reconnecting", "resyncing", "stopped" (only for watched ones)
    parent: str | None = None  # the parent conversation's id, when it is listed on the same server (1.58)
    forked_from: str | None = None  # the conversation this one was forked from (1.58)
    forked_from_title: str = ""  # its title when it is listed, else the start of its id
    children: tuple[ExecutionStatus, ...] = ()  # the statuses of its listed children (for the summary)
    runtime: str = ""  # the runtime's status when the server says it is not usable: "missing", "error", … (1.58)

    @property
    def key(self) -> str:
        return conv_key(self.server, self.id)


@dataclass(slots=True)
class ServerRow:
    name: str
    state: str = "connecting"  # connecting | ok | unauthorized | unreachable | dormant | error
    message: str = ""
    retry_at: float | None = None
    conversations: list[ConvRow] = field(default_factory=list)
    embedded: bool = False  # the demo server this process started (scripted agent, no LLM)
    full: bool = False  # it refused a run for lack of room lately (429, 1.58): messages and creates wait


def conv_key(server: str, cid: str) -> str:
    """A conversation's row id in the list."""
    return f"c\x1f{server}\x1f{cid}"


def split_key(key: str) -> Key | None:
    parts = key.split("\x1f")
    if len(parts) == 3 and parts[0] == "c":
        return parts[1], parts[2]
    return None


__all__ = ["ConvRow", "Key", "ServerRow", "conv_key", "split_key"]
