"""File edits as unified diffs, computed on the client with difflib. Pure: no Rich, no Textual.

A `file_editor` action carries what it changes (`create` + `file_text`, `str_replace` + `old_str`/`new_str`,
`insert` + `insert_line`/`new_str`); a 1.58 `FileEditorObservation` carries the whole file before and after
(`old_content`/`new_content`), which gives a diff with real line numbers and context. Other editing tools a server
may list (`edit`, `write_file`, `str_replace_editor`, ...) use the same argument names or close ones: a tool the server
lists in `server_info.usable_tools` (`learn_server_tools`) is an editing tool when its arguments have the shape of an
edit (a path and old/new text, or a path and the file's content); `EDIT_TOOLS` are known without asking.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

# Tools whose actions edit files (the names the agent servers use for them).
EDIT_TOOLS = frozenset(
    {"file_editor", "str_replace_editor", "edit", "edit_file", "write_file", "create_file", "apply_patch", "write"}
)
_server_tools: set[str] = set()  # tools some server listed as usable (see `learn_server_tools`)
_PATH_KEYS = ("path", "file_path")
_EDIT_TEXT_KEYS = ("old_str", "new_str", "old_string", "new_string", "content", "file_text")
EDIT_COMMANDS = frozenset({"create", "str_replace", "insert", "undo_edit", "write", "edit", "overwrite"})
CONTEXT = 3


@dataclass
class FileChange:
    """One file edit: what was done and its unified diff (the `---`/`+++` header lines left out)."""

    path: str
    command: str  # create, str_replace, insert, undo_edit, write...
    new_text: str | None = None  # the created file's text (shown highlighted rather than as a diff)
    lines: list[str] = field(default_factory=list)  # diff lines: "@@ ...", "+...", "-...", " ..."
    added: int = 0
    removed: int = 0

    @property
    def created(self) -> bool:
        return self.command == "create" or (self.command in ("write", "overwrite") and not self.removed)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def unified(old: str, new: str, context: int = CONTEXT) -> tuple[list[str], int, int]:
    """Diff lines (hunks only) and the counts of added and removed lines."""
    out: list[str] = []
    added = removed = 0
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=context):
        if line.startswith(("---", "+++")) and not out:
            continue
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
        out.append(line)
    return out, added, removed


def learn_server_tools(names: list[str] | tuple[str, ...]) -> list[str]:
    """Remember the tools a server lists as usable; returns the names not known before (their blocks may now
    show as edits)."""
    new = [name for name in names if isinstance(name, str) and name not in _server_tools]
    _server_tools.update(new)
    return new


def edit_shaped(action: dict[str, Any]) -> bool:
    """Arguments that look like a file edit: a path, and old/new text or the file's content."""
    has_path = any(_str(action.get(key)) for key in _PATH_KEYS)
    return has_path and any(_str(action.get(key)) is not None for key in _EDIT_TEXT_KEYS)


def is_edit(tool: str, action: dict[str, Any]) -> bool:
    command = _str(action.get("command")) or ""
    if tool in EDIT_TOOLS:
        return bool(_str(action.get("path")) or _str(action.get("file_path")))
    if tool in _server_tools and edit_shaped(action):
        return True
    return action.get("kind") == "FileEditorAction" or (
        command in EDIT_COMMANDS and bool(_str(action.get("path"))) and tool not in ("terminal", "bash")
    )


def file_change(tool: str, action: dict[str, Any], observation: dict[str, Any] | None = None) -> FileChange | None:
    """The change an edit action makes, or None when the action is not a file edit (or edits nothing visible)."""
    if not is_edit(tool, action):
        return None
    obs = observation or {}
    path = _str(action.get("path")) or _str(action.get("file_path")) or _str(obs.get("path")) or ""
    replaces = any(_str(action.get(key)) is not None for key in _EDIT_TEXT_KEYS[:4])  # old/new text, not content
    default = "edit" if tool == "edit" or (replaces and tool not in EDIT_TOOLS) else "write"
    command = _str(action.get("command")) or _str(obs.get("command")) or default
    change = FileChange(path=path, command=command)
    old_content, new_content = _str(obs.get("old_content")), _str(obs.get("new_content"))
    if command == "create" or (command == "write" and old_content is None):
        text = _str(action.get("file_text")) or _str(action.get("content")) or new_content
        if text is not None:
            change.command = "create"
            change.new_text = text
            change.added = len(text.splitlines())
            return change
        if command == "create":
            return change
        if not replaces:
            return None  # a write with nothing to show
    if old_content is not None and new_content is not None:
        change.lines, change.added, change.removed = unified(old_content, new_content)
        return change
    old = _str(action.get("old_str")) or _str(action.get("old_string"))
    new = _str(action.get("new_str")) or _str(action.get("new_string"))
    if command == "insert" and new is not None:
        line = action.get("insert_line")
        start = line + 1 if isinstance(line, int) and line >= 0 else 1
        body = new.splitlines()
        change.lines = [f"@@ -{start - 1},0 +{start},{len(body)} @@", *("+" + b for b in body)]
        change.added = len(body)
        return change
    if old is not None or new is not None:
        change.lines, change.added, change.removed = unified(old or "", new or "")
        return change
    content = _str(action.get("content")) or _str(action.get("file_text"))
    if content is not None:
        change.command = "create"
        change.new_text = content
        change.added = len(content.splitlines())
        return change
    return change  # undo_edit and the like: no text to show without the observation's contents


def diff_summary(change: FileChange) -> str:
    """`+N −M` (the minus is U+2212, as in the rest of the view)."""
    if change.created and change.new_text is not None:
        return f"+{change.added}"
    return f"+{change.added} \u2212{change.removed}"
