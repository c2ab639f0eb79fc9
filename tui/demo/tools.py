"""The scripted agent's tools: the action an LLM call produces and the observation running it gives.

``file_editor`` really edits: the conversation keeps the files its agent created or changed (and what they held
before the first change), which is what the per-conversation git routes report.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from . import wire
from .scenarios import ToolCall
from .store import Conversation


def resolve(conv: Conversation, path: str) -> str:
    workdir = conv.workspace.get("working_dir") or "/workspace"
    return path if path.startswith("/") else posixpath.join(workdir, path)


def action(conv: Conversation, step: ToolCall, response_id: str, event_id: str | None, risk: str) -> dict[str, Any]:
    if step.tool == "file_editor":
        assert step.edit is not None
        fields = {**step.edit, "path": resolve(conv, step.edit["path"])}
        payload = {**fields, "kind": "FileEditorAction"}
    elif step.tool == "task_tracker":
        fields = {"command": "plan", "task_list": step.tasks or []}
        payload = {**fields, "kind": "TaskTrackerAction"}
    elif step.tool == "start_child_conversation":
        task, title = step.child or ("", "")
        fields = {"task": task, "title": title, "isolation": "shared"}
        payload = {**fields, "kind": "StartChildConversationAction"}
    else:
        fields = {"command": step.command}
        payload = {
            "command": step.command,
            "is_input": False,
            "timeout": None,
            "reset": False,
            "kind": "TerminalAction",
        }
    args = json.dumps({**fields, "security_risk": step.risk, "summary": step.summary})
    return wire.action_event(
        step.tool,
        payload,
        args,
        step.summary,
        conv.leaf_event_id,
        response_id,
        thought=step.thought,
        event_id=event_id,
        security_risk=risk,
        reasoning=step.reasoning,
    )


def child_observation(child_id: str, title: str) -> dict[str, Any]:
    return {
        "content": [wire.text(f"Started child conversation {child_id} ({title}).")],
        "is_error": False,
        "conversation_id": child_id,
        "kind": "StartChildConversationObservation",
    }


def observation(conv: Conversation, step: ToolCall) -> dict[str, Any]:
    if step.tool == "file_editor":
        return _edit(conv, step)
    if step.tool == "task_tracker":
        return wire.task_tracker_observation(step.tasks or [])
    return wire.terminal_observation(
        step.command, step.output, conv.workspace.get("working_dir", ""), conv.persistence_dir, step.exit_code
    )


def _numbered(text: str) -> str:
    return "\n".join(f"{i:6}\t{line}" for i, line in enumerate(text.split("\n"), 1))


def _edit(conv: Conversation, step: ToolCall) -> dict[str, Any]:
    """Apply a ``create`` / ``str_replace`` / ``insert`` to the conversation's files."""
    assert step.edit is not None
    command = step.edit["command"]
    path = resolve(conv, step.edit["path"])
    old = conv.files.get(path)
    if path not in conv.originals:
        conv.originals[path] = old
    if command == "create":
        new = step.edit["file_text"]
        message = f"File created successfully at: {path}"
    elif command == "str_replace":
        new = (old or "").replace(step.edit["old_str"], step.edit["new_str"], 1)
        message = f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet of {path}:\n"
        message += _numbered(new.rstrip("\n")) + "\nReview the changes and make sure they are as expected."
    else:  # insert after line ``insert_line``
        lines = (old or "").split("\n")
        at = int(step.edit["insert_line"])
        lines[at:at] = step.edit["new_str"].split("\n")
        new = "\n".join(lines)
        message = (
            f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet of the edited file:\n"
        )
        message += _numbered(new.rstrip("\n")) + "\nReview the changes and make sure they are as expected."
    conv.files[path] = new
    return wire.file_editor_observation(command, path, old is not None, old, new, message)
