"""Review of what an agent changed (1.58 git routes), without Textual.

The server returns each changed file whole, before and after; the hunks are computed here with `difflib`.
A comment on a diff line becomes a message to the agent that quotes the file and the line.
"""

from __future__ import annotations

import difflib
import posixpath
from dataclasses import dataclass
from enum import StrEnum

from tui.client import AgentClient
from tui.protocol import GitChange, ServerInfo

CONTEXT = 3  # lines of context around each change, as `git diff` shows


class LineKind(StrEnum):
    HUNK = "hunk"  # the @@ header
    CONTEXT = "context"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: LineKind
    text: str
    old: int | None = None  # line number in the original (None for an added line)
    new: int | None = None  # line number in the modified file (None for a removed line)


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # relative to the working directory
    status: str  # ADDED / UPDATED / DELETED / MOVED
    lines: tuple[DiffLine, ...] = ()
    error: str = ""  # why the diff could not be fetched

    @property
    def added(self) -> int:
        return sum(line.kind is LineKind.ADDED for line in self.lines)

    @property
    def removed(self) -> int:
        return sum(line.kind is LineKind.REMOVED for line in self.lines)


def diff_lines(original: str, modified: str, context: int = CONTEXT) -> tuple[DiffLine, ...]:
    """The hunks between two whole texts, each line numbered in the file it belongs to."""
    old, new = original.splitlines(), modified.splitlines()
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        header = f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
        out.append(DiffLine(LineKind.HUNK, header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(DiffLine(LineKind.CONTEXT, old[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2))
                continue
            if tag in ("replace", "delete"):
                out.extend(DiffLine(LineKind.REMOVED, old[i], i + 1, None) for i in range(i1, i2))
            if tag in ("replace", "insert"):
                out.extend(DiffLine(LineKind.ADDED, new[j], None, j + 1) for j in range(j1, j2))
    return tuple(out)


def unsupported_reason(info: ServerInfo | None) -> str | None:
    """Why a server cannot show changes (None: it can)."""
    if info is None:
        return "The server did not say what it supports."
    if not info.supports_runtime_routes:
        return f"This agent server ({info.version}) has no git routes: changes can be reviewed on 1.58 and later."
    return None


async def load_changes(client: AgentClient, conversation_id: str, working_dir: str) -> list[FileChange]:
    """Every changed file under the conversation's working directory with its hunks (one diff request each)."""
    root = working_dir.rstrip("/") or "/"
    changes: list[GitChange] = await client.git_changes(conversation_id, root)
    files: list[FileChange] = []
    for change in changes:
        try:
            diff = await client.git_diff(conversation_id, posixpath.join(root, change.path))
        except Exception as error:  # one file's trouble is its own line, not the whole review's
            files.append(FileChange(change.path, change.status, error=str(error) or type(error).__name__))
            continue
        files.append(FileChange(change.path, change.status, diff_lines(diff.original or "", diff.modified or "")))
    return files


def comment_message(path: str, line: DiffLine, comment: str) -> str:
    """The message a comment on a diff line sends to the agent: the file, the line (number and text), the comment."""
    number = line.new if line.new is not None else line.old
    where = f"{path}:{number}" if number is not None else path
    side = " (a removed line)" if line.kind is LineKind.REMOVED else ""
    return f"About {where}{side}:\n> {line.text}\n\n{comment.strip()}"


__all__ = [
    "DiffLine",
    "FileChange",
    "LineKind",
    "comment_message",
    "diff_lines",
    "load_changes",
    "unsupported_reason",
]
