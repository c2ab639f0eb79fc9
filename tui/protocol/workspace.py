"""Bodies of the 1.58 per-conversation routes: children, git changes and diffs, the tool catalog."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .events import WireModel

Isolation = Literal["worktree", "shared"]


class CreateChildRequest(WireModel):
    """`POST /api/conversations/{id}/children`. The task becomes the child's first message; it starts at once."""

    task: str = Field(min_length=1)
    title: str | None = None
    isolation: Isolation | None = None

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class ChildConversation(WireModel):
    """The 201 answer to a child create. `status` is the pre-run one (`idle`) even though the child already runs;
    `workspace` is the child's working directory (a string here, not the workspace object)."""

    conversation_id: str
    parent_conversation_id: str | None = None
    status: str = "idle"
    title: str | None = None
    url: str | None = None
    workspace: str | None = None
    isolation: str | None = None


class GitChange(WireModel):
    """One changed file. `status` is ADDED / UPDATED / DELETED / MOVED; `path` is relative to the repository."""

    status: str
    path: str


class GitDiff(WireModel):
    """`GET …/git/diff`: the whole file before and after (trailing newline stripped); `original` "" for a new file."""

    modified: str | None = None
    original: str | None = None


class ToolCatalogEntry(WireModel):
    name: str
    user_selectable: bool = False
    usable: bool = False
    description: str = ""
    in_default_set: bool = False

    @property
    def offerable(self) -> bool:
        """Worth offering to a person choosing tools."""
        return self.user_selectable and self.usable


class ToolCatalog(WireModel):
    """`GET /api/tools/catalog` (capability `tool_catalog_v1`)."""

    tools: list[ToolCatalogEntry] = Field(default_factory=list)

    @property
    def offerable(self) -> list[ToolCatalogEntry]:
        return [tool for tool in self.tools if tool.offerable]
