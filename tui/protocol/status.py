"""Execution status of a conversation, as the server spells it on the wire."""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    WAITING_FOR_CONFIRMATION = "waiting_for_confirmation"
    FINISHED = "finished"
    ERROR = "error"
    STUCK = "stuck"
    DELETING = "deleting"
    UNKNOWN = "unknown"  # a value this client does not know; never sent by the server

    @classmethod
    def parse(cls, value: object) -> ExecutionStatus:
        """Lenient conversion: unknown or missing values become UNKNOWN instead of raising."""
        try:
            return cls(str(value).lower())
        except ValueError:
            return cls.UNKNOWN

    def is_terminal(self) -> bool:
        """The agent has stopped on its own: finished, error or stuck (the server's own notion)."""
        return self in (ExecutionStatus.FINISHED, ExecutionStatus.ERROR, ExecutionStatus.STUCK)

    def is_busy(self) -> bool:
        """A message sent now would land in a running turn (the client queues it instead)."""
        return self is ExecutionStatus.RUNNING

    def needs_attention(self) -> bool:
        return self in (
            ExecutionStatus.FINISHED,
            ExecutionStatus.ERROR,
            ExecutionStatus.STUCK,
            ExecutionStatus.WAITING_FOR_CONFIRMATION,
        )
