"""Frames of the session socket `/sockets/session/{id}` (agent server 1.46+): envelopes with a `type`.

`durable` frames carry a stored event and its `seq` (the only thing that moves a client's resume cursor);
`transient` frames carry an event that is never stored (the `full_state` snapshots); `item_started` / `delta` /
`item_aborted` stream one LLM output keyed by the id of the event that will close it. The envelope may grow:
`parse_session_frame` keeps unknown fields and turns an unknown `type` (or a malformed frame) into an
`UnknownFrame` that keeps the raw JSON. It never raises, and `to_wire()` gives back what arrived.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator

from .events import Event, WireModel, parse_event


class SessionFrame(WireModel):
    TYPE: ClassVar[str] = ""
    type: str


class SyncFrame(SessionFrame):
    """First frame. Replay covers (`from_seq`, `through_seq`]; either is omitted (no `after_seq`; empty log)."""

    TYPE: ClassVar[str] = "sync"
    from_seq: int | None = None
    through_seq: int | None = None


class _EventFrame(SessionFrame):
    event: Event

    @field_validator("event", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Event:
        return value if isinstance(value, Event) else parse_event(value)

    def to_wire(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_unset=True, exclude={"event"})
        data["event"] = self.event.to_wire()
        return data


class DurableFrame(_EventFrame):
    """A stored event; `seq` is its index in the conversation's log (its position in REST `events/search`)."""

    TYPE: ClassVar[str] = "durable"
    seq: int


class TransientFrame(_EventFrame):
    """An event that is never stored or replayed (the `full_state` snapshots)."""

    TYPE: ClassVar[str] = "transient"


class ItemStartedFrame(SessionFrame):
    """A streamed LLM output opens; render it after `anchor_seq`. `item_id` is the id of the durable event
    (a MessageEvent or an ActionEvent) that will close it."""

    TYPE: ClassVar[str] = "item_started"
    item_id: str
    attempt: int = 1
    anchor_seq: int | None = None


class DeltaFrame(SessionFrame):
    """One piece of a stream. `order` counts from 0 per item and attempt (shared by both kinds); a gap means a
    dropped delta. `kind` is "text" or "reasoning"."""

    TYPE: ClassVar[str] = "delta"
    item_id: str
    attempt: int = 1
    order: int = 0
    kind: str = "text"
    content: str = ""
    chunk_id: str | None = None
    choice_index: int | None = None

    @property
    def is_reasoning(self) -> bool:
        return self.kind == "reasoning"


class ItemAbortedFrame(SessionFrame):
    """The stream ended without a durable event: "cancelled" (interrupt), "no_durable_event", or an error name."""

    TYPE: ClassVar[str] = "item_aborted"
    item_id: str
    attempt: int = 1
    reason: str = ""


class SessionErrorFrame(SessionFrame):
    """A problem with a frame the client sent (`ConversationRunLimitExceeded` when the server is full)."""

    TYPE: ClassVar[str] = "error"
    code: str = ""
    detail: str = ""


class UnknownFrame(SessionFrame):
    """A `type` this client does not know, or a frame that did not validate. Keeps the raw JSON."""

    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)
    parse_error: str | None = Field(default=None, exclude=True)

    def to_wire(self) -> dict[str, Any]:
        return dict(self.raw)


SESSION_FRAME_CLASSES: dict[str, type[SessionFrame]] = {
    cls.TYPE: cls
    for cls in (
        SyncFrame,
        DurableFrame,
        TransientFrame,
        ItemStartedFrame,
        DeltaFrame,
        ItemAbortedFrame,
        SessionErrorFrame,
    )
}


def parse_session_frame(data: Any) -> SessionFrame:
    """Turn one decoded JSON value from the session socket into a frame. Never raises."""
    if not isinstance(data, dict):
        return UnknownFrame(type="(not an object)", raw={"value": data}, parse_error="not a JSON object")
    kind = data.get("type")
    cls = SESSION_FRAME_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return UnknownFrame(type=kind if isinstance(kind, str) else "(no type)", raw=data)
    try:
        return cls.model_validate(data)
    except (ValidationError, TypeError, ValueError) as exc:
        error = " ".join(str(exc).split())[:300]
    except RecursionError:
        error = "nested too deeply"
    return UnknownFrame(type=str(kind), raw=data, parse_error=error)
