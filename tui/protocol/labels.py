"""The words people see for a status, shared by the TUI and the headless verbs (no Textual here)."""

from __future__ import annotations

from .status import ExecutionStatus

STATUS_LABEL: dict[ExecutionStatus, str] = {
    ExecutionStatus.WAITING_FOR_CONFIRMATION: "needs confirmation",
}


def status_label(status: ExecutionStatus) -> str:
    return STATUS_LABEL.get(status, status.value)
