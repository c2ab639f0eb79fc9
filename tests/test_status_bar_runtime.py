"""The status bar says when the server is full and when the conversation's runtime is not usable (1.58)."""

from __future__ import annotations

from tui.app.snapshot import ConversationSnapshot
from tui.app.widgets.status_bar import status_text
from tui.protocol import ConversationInfo, ExecutionStatus


def test_a_missing_runtime_and_a_full_server_are_on_the_status_line():
    info = ConversationInfo.model_validate(
        {
            "id": "c1",
            "execution_status": "idle",
            "runtime_info": {
                "runtime_status": "missing",
                "can_resume": False,
                "runtime_error": {"code": "gone", "message": "pod \x1b]0;evil\x07deleted"},
            },
        }
    )
    snap = ConversationSnapshot(
        id="c1",
        status=ExecutionStatus.IDLE,
        runtime_problem=info.runtime_problem,
        capacity_wait="server full: starting the run when a slot frees",
    )
    line = status_text(snap, now=0.0).plain
    assert "server full: starting the run" in line
    assert "the runtime is missing" in line and "pod" in line and "deleted" in line
    assert "\x1b" not in line and "\x07" not in line
    healthy = ConversationSnapshot(id="c1", status=ExecutionStatus.IDLE)
    assert "runtime" not in status_text(healthy, now=0.0).plain
