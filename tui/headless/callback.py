"""Completion callback for automation: best effort, bounded time, never changes the exit code."""

from __future__ import annotations

import os

import httpx

from tui.protocol import ExecutionStatus

CALLBACK_TIMEOUT = 10.0


async def post_completion(conversation_id: str, status: ExecutionStatus | None, error: str | None = None) -> None:
    url = os.environ.get("AUTOMATION_CALLBACK_URL")
    if not url:
        return
    ok = status is ExecutionStatus.FINISHED
    body: dict[str, object] = {"status": "COMPLETED" if ok else "FAILED", "conversation_id": conversation_id}
    if os.environ.get("AUTOMATION_RUN_ID"):
        body["run_id"] = os.environ["AUTOMATION_RUN_ID"]
    if not ok:
        body["error"] = error or f"turn ended with status {status or 'unknown'}"
    headers = {}
    if os.environ.get("AUTOMATION_CALLBACK_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['AUTOMATION_CALLBACK_API_KEY']}"
    try:
        async with httpx.AsyncClient(timeout=CALLBACK_TIMEOUT) as http:
            await http.post(url, json=body, headers=headers)
    except (httpx.HTTPError, OSError, ValueError):
        pass  # best effort by contract
