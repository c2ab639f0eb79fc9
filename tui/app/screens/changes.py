"""The Changes view of one conversation: the files its agent changed (+/- counts) and each file's diff; a comment
on a diff line is sent to the agent (queued like any message) quoting the file and the line.

Data comes from `Fleet.changes` (`tui.session.review`); reloaded when the agent's turn ends. File contents are
server text: shown as `rich.text.Text` only, cleaned of escape sequences.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.session import Turn
from tui.session.review import DiffLine, FileChange, LineKind, comment_message, unsupported_reason
from tui.session.watchlist import Key

from .. import render
from ..actions import Owner, bindings
from ..blocks import CroppedLines
from .dialogs import PromptScreen

if TYPE_CHECKING:
    from ..app import OpenHandsApp

WATCH_SECONDS = 0.5
LINE_STYLE = {
    LineKind.HUNK: "bold cyan",
    LineKind.ADDED: "green",
    LineKind.REMOVED: "red",
    LineKind.CONTEXT: "",
}
SIGN = {LineKind.HUNK: "", LineKind.ADDED: "+", LineKind.REMOVED: "-", LineKind.CONTEXT: " "}


def file_prompt(change: FileChange) -> Text:
    text = Text()
    text.append(f"{change.status[:1] or '?'} ", style="bold")
    text.append(render.one_line(change.path, 200))
    if change.error:
        text.append("  diff unavailable", style="red")
    else:
        text.append(f"  +{change.added}", style="green")
        text.append(f" -{change.removed}", style="red")
    text.no_wrap = True
    return text


def line_prompt(line: DiffLine) -> Text:
    if line.kind is LineKind.HUNK:
        return Text(line.text, style=LINE_STYLE[line.kind], no_wrap=True)
    number = line.new if line.new is not None else line.old
    text = Text(f"{number if number is not None else '':>5} ", style="dim", no_wrap=True)
    text.append(SIGN[line.kind] + render.clean(line.text).replace("\t", "    "), style=LINE_STYLE[line.kind])
    return text


class ChangesScreen(Screen[None]):
    DEFAULT_CSS = """
    ChangesScreen #changes-title { height: 1; padding: 0 1; background: $panel; }
    ChangesScreen #changes-note { padding: 1 2; color: $text-muted; height: auto; }
    ChangesScreen #changes-files { width: 40%; max-width: 60; border: none; }
    ChangesScreen #changes-diff { width: 1fr; border: none; }
    """
    BINDINGS = bindings(Owner.CHANGES)

    def __init__(self, key: Key, title: str) -> None:
        super().__init__(id="changes")
        self.key = key
        self.conversation_title = title
        self.files: list[FileChange] = []
        self._fetching = False
        self._last_turn: Turn | None = None
        self._last_active = False

    @property
    def oh_app(self) -> OpenHandsApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("", id="changes-title")
        yield Static("Loading the changes…", id="changes-note")
        with Horizontal():
            yield OptionList(id="changes-files")
            yield OptionList(id="changes-diff")
        yield Footer()

    def on_mount(self) -> None:
        self._set_title()
        self.action_reload()
        session = self.oh_app.watchlist.session(self.key)
        if session is not None:  # the turn at the first load: one that ends from here on means a reload
            self._last_turn, self._last_active = session.turn, session.turn.active
        self.set_interval(WATCH_SECONDS, self._watch_turn)

    def _set_title(self) -> None:
        title = Text("Changes · ", style="bold")
        title.append(render.one_line(self.conversation_title, 60), style="bold")
        title.append(f"  {self.key[0]}", style="dim")
        if self.files:
            added = sum(f.added for f in self.files)
            removed = sum(f.removed for f in self.files)
            title.append(f" · {len(self.files)} files ", style="dim")
            title.append(f"+{added}", style="green")
            title.append(f" -{removed}", style="red")
        self.query_one("#changes-title", Static).update(title)

    def _note(self, text: str | None) -> None:
        note = self.query_one("#changes-note", Static)
        note.display = text is not None
        if text is not None:
            note.update(Text(text))

    def _watch_turn(self) -> None:
        """Reload when the agent's turn ends (it may have changed more files). Every turn is a new `Turn`, so a
        turn that began and ended between two looks is seen too."""
        session = self.oh_app.watchlist.session(self.key)
        turn = session.turn if session is not None else None
        if turn is not None and self._last_turn is not None and not turn.active:
            if turn is not self._last_turn or self._last_active:
                self.action_reload()
        self._last_turn = turn
        self._last_active = turn.active if turn is not None else False

    def action_reload(self) -> None:
        if not self._fetching:
            self._fetching = True
            self.run_worker(self._load(), group="changes", exit_on_error=False)

    async def _load(self) -> None:
        app = self.oh_app
        try:
            try:
                info = await app.fleet.server_info(self.key[0])
            except Exception as error:
                self._note(f"Cannot ask {self.key[0]} what it supports: {error}")
                return
            reason = unsupported_reason(info)
            if reason is not None:
                self._note(reason)
                return
            conversation = app.watchlist.info(self.key)
            session = app.watchlist.session(self.key)
            if session is not None and session.info is not None:
                conversation = session.info
            working_dir = conversation.working_dir if conversation is not None else ""
            if not working_dir:
                self._note("The server did not say where this conversation works: no changes to show.")
                return
            try:
                files = await app.fleet.changes(*self.key, working_dir)
            except Exception as error:
                self._note(f"Could not load the changes: {render.one_line(str(error), 200)}")
                return
            self._show(files, working_dir)
        finally:
            self._fetching = False

    def _show(self, files: list[FileChange], working_dir: str) -> None:
        self.files = files
        self._set_title()
        if not files:
            self._note(f"No changes under {render.one_line(working_dir, 100)} yet.")
        else:
            self._note(None)
        options = self.query_one("#changes-files", OptionList)
        keep = options.highlighted
        options.clear_options()
        options.add_options([Option(file_prompt(change), id=change.path) for change in files])
        if files:
            options.highlighted = keep if keep is not None and keep < len(files) else 0
            self._show_diff(files[options.highlighted or 0])
            if self.focused is None:
                options.focus()
        else:
            self.query_one("#changes-diff", OptionList).clear_options()

    def _show_diff(self, change: FileChange) -> None:
        diff = self.query_one("#changes-diff", OptionList)
        diff.clear_options()
        if change.error:
            diff.add_option(Option(Text(f"diff unavailable: {render.one_line(change.error, 200)}", style="red")))
            return
        # Cropped with a mark, never wrapped: a diff line keeps its place and its indentation.
        diff.add_options([Option(CroppedLines([line_prompt(line)])) for line in change.lines])

    @property
    def current_file(self) -> FileChange | None:
        index = self.query_one("#changes-files", OptionList).highlighted
        return self.files[index] if index is not None and 0 <= index < len(self.files) else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "changes-files":
            change = self.current_file
            if change is not None:
                self._show_diff(change)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "changes-files":
            self.query_one("#changes-diff", OptionList).focus()
        else:
            self.action_comment()

    # ------------------------------------------------------------------ actions

    def action_comment(self) -> None:
        change = self.current_file
        diff = self.query_one("#changes-diff", OptionList)
        index = diff.highlighted
        if change is None or change.error or index is None or not (0 <= index < len(change.lines)):
            self.notify("Pick a line of the diff to comment on.", markup=False)
            return
        line = change.lines[index]
        if line.kind is LineKind.HUNK:
            line = change.lines[index + 1] if index + 1 < len(change.lines) else line
        path = change.path

        def done(comment: str | None) -> None:
            if comment is not None and comment.strip():
                self.oh_app.send_comment(self.key, comment_message(path, line, comment))

        number = line.new if line.new is not None else line.old
        question = f"Comment on {render.one_line(path, 60)}:{number} — sent to the agent (queued if it is busy):"
        self.app.push_screen(PromptScreen(question, placeholder="what should change here"), done)

    def action_close_changes(self) -> None:
        self.dismiss(None)
