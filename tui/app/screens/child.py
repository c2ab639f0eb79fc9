"""The dialog that starts a child conversation of the open one: its task, an optional title, and the isolation
(a git worktree of its own, or the parent's directory) where the server offers it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select, Static, TextArea

from .dialogs import DIALOG_CSS, FormScreen

ISOLATIONS = [
    ("its own git worktree (the server's default)", "worktree"),
    ("the parent's working directory", "shared"),
]


@dataclass(frozen=True, slots=True)
class NewChild:
    task: str
    title: str | None
    isolation: str | None  # None: the server's default


class NewChildScreen(FormScreen[NewChild]):
    DEFAULT_CSS = DIALOG_CSS + "NewChildScreen { align: center middle; }"
    CREATE_LABEL = "Start"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "create", "Start", priority=True)]

    def __init__(self, parent_title: str, *, isolation: bool = True) -> None:
        super().__init__()
        self.parent_title = parent_title
        self.offer_isolation = isolation

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static(f"New child conversation of “{self.parent_title}”", classes="title", markup=False)
            yield Label("Task (its first message; it starts at once)")
            yield TextArea("", id="child-task")
            yield Label("Title (optional)")
            yield Input("", placeholder="the server picks one", id="child-title")
            if self.offer_isolation:
                yield Label("Works in")
                yield Select(ISOLATIONS, value="worktree", allow_blank=False, id="child-isolation")
            yield from self.form_buttons()

    def on_mount(self) -> None:
        self.query_one("#child-task", TextArea).focus()

    def action_create(self) -> None:
        task = self.query_one("#child-task", TextArea).text
        if not task.strip():
            self.fail("A child conversation needs a task.")
            return
        isolation = None
        if self.offer_isolation:
            value = self.query_one("#child-isolation", Select).value
            isolation = value if isinstance(value, str) else None
        title = self.query_one("#child-title", Input).value.strip() or None
        self.dismiss(NewChild(task, title, isolation))
