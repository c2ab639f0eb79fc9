"""Typed views of what some tools put in `ActionEvent.action` / `ObservationEvent.observation`.

The event models keep those bodies as plain dicts (any tool, any version, round-trips unchanged); these helpers
read the parts a client renders. They never raise: a body of another shape gives None.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

# The task tracker accepts these older spellings (and stores what it was given).
_TASK_STATUS_ALIASES = {"pending": "todo", "completed": "done"}


class TaskItem(BaseModel):
    """One entry of a `task_tracker` plan. `status` is todo / in_progress / done (aliases normalised)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    title: str = ""
    notes: str = ""
    status: str = "todo"

    @field_validator("status", mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower()
            return _TASK_STATUS_ALIASES.get(value, value)
        return value

    @field_validator("notes", "title", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value


class FileEdit(BaseModel):
    """A `file_editor` command and the file before and after it (`FileEditorObservation`).

    `old_content` is None for a new file (`prev_exist` False) and for commands that do not change the file (`view`);
    `new_content` is None when nothing was written."""

    model_config = ConfigDict(extra="allow", frozen=True)

    command: str = ""
    path: str = ""
    prev_exist: bool = False
    old_content: str | None = None
    new_content: str | None = None

    @property
    def changed(self) -> bool:
        return self.new_content is not None and self.new_content != (self.old_content or "")


def task_list_of(body: Any, kind: str) -> list[TaskItem] | None:
    """The `task_list` of a body of that `kind`; None when the body is not one, or its list is malformed."""
    if not isinstance(body, dict) or body.get("kind") != kind:
        return None
    items = body.get("task_list")
    if not isinstance(items, list):
        return None
    try:
        return [TaskItem.model_validate(item) for item in items]
    except (ValidationError, TypeError, ValueError):
        return None


def file_edit_of(body: Any) -> FileEdit | None:
    if not isinstance(body, dict) or body.get("kind") != "FileEditorObservation":
        return None
    try:
        return FileEdit.model_validate(body)
    except (ValidationError, TypeError, ValueError):
        return None
