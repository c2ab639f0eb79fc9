"""Modal dialogs: new conversation, a one-line prompt (rename, reject reason, edit queued), yes/no."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, SelectionList, Static, TextArea

if TYPE_CHECKING:
    from tui.protocol import ToolCatalog


DIALOG_CSS = """
NewConversationScreen, PromptScreen, ConfirmScreen { align: center middle; }
.dialog { width: 72; max-width: 95%; height: auto; max-height: 95%; border: thick $accent; background: $surface;
          padding: 0 1; }
.dialog .title { text-style: bold; width: 1fr; margin: 0; }
.dialog Label { margin: 0; color: $text-muted; }
.dialog .buttons { height: auto; align: right middle; margin: 1 0 0 0; }
.dialog .buttons Button { margin: 0 0 0 1; }
.dialog .error { color: $error; height: auto; }
.dialog TextArea { height: 4; }
/* One line per field (no tall borders), so the whole New-conversation form fits 80x24. */
.dialog Input { height: 1; border: none; padding: 0 1; background: $boost; }
.dialog Input:focus { background: $accent 35%; }
.dialog SelectCurrent { height: 1; border: none; padding: 0 1; background: $boost; }
.dialog Select:focus > SelectCurrent { background: $accent 35%; }
.dialog Checkbox { border: none; padding: 0; height: 1; margin: 1 0 0 0; }
.dialog Checkbox:focus { background: $accent 35%; }
.dialog TextArea { border: none; background: $boost; }
.dialog TextArea:focus { background: $accent 20%; }
.dialog SelectionList { height: auto; max-height: 6; border: none; padding: 0; background: $boost; }
"""


@dataclass
class NewConversation:
    server: str
    model: str
    base_url: str | None
    api_key_env: str | None
    api_key: str | None
    working_dir: str
    confirm: bool
    first_message: str
    tools: tuple[str, ...] | None = None  # chosen from the server's catalog (None: the default set)


R = TypeVar("R")
FORM_FIELDS = ("model", "base_url", "api_key_env", "working_dir")


class FormScreen(ModalScreen[R | None], Generic[R]):
    """A form in a dialog: escape or Cancel dismisses it with None, ctrl+s or the primary button runs
    `action_create`, which checks the fields and either says what is wrong (`fail`) or dismisses with the result."""

    SCOPED_CSS = False
    DEFAULT_CSS = DIALOG_CSS
    CREATE_LABEL = "Create"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "create", "Create", priority=True)]

    def form_buttons(self) -> ComposeResult:
        """The error line and the buttons, at the end of the form."""
        yield Static("", classes="error", id="error")
        with Horizontal(classes="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button(f"{self.CREATE_LABEL} (ctrl+s)", variant="primary", id="create")

    def fail(self, why: str) -> None:
        self.query_one("#error", Static).update(why)

    def action_create(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#create")
    def _create(self) -> None:
        self.action_create()


class NewConversationScreen(FormScreen[NewConversation]):
    """The form; `defaults[server]` fills it (the last values used on that server, else its config defaults) and
    is applied again when another server is picked."""

    def __init__(
        self,
        servers: list[str],
        *,
        server: str | None = None,
        defaults: dict[str, dict[str, str]] | None = None,
        first_message: str = "",
    ) -> None:
        super().__init__()
        self.servers = servers
        self.default_server = server if server in servers else (servers[0] if servers else None)
        self.defaults = defaults or {}
        form = self.defaults.get(self.default_server or "", {})
        self.default_model = form.get("model", "")
        self.default_dir = form.get("working_dir", "")
        self.default_base_url = form.get("base_url", "")
        self.default_key_env = form.get("api_key_env", "")
        self.first_message = first_message

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog"):
            yield Static("New conversation", classes="title")
            yield Label("Server")
            yield Select(
                [(s, s) for s in self.servers],
                value=self.default_server or Select.BLANK,
                allow_blank=not self.servers,
                id="server",
            )
            yield Label("Model")
            yield Input(self.default_model, placeholder="e.g. anthropic/claude-sonnet-4-5", id="model")
            yield Label("LLM base URL (optional)")
            yield Input(self.default_base_url, placeholder="https://…", id="base-url")
            yield Label("LLM API key: the name of an environment variable (not the key)")
            yield Input(self.default_key_env, placeholder="e.g. LLM_API_KEY", id="api-key-env")
            yield Label("Working directory (absolute, on the server)")
            yield Input(self.default_dir, placeholder="e.g. /workspace/project", id="working-dir")
            yield Checkbox("Ask me to confirm every action", id="confirm")
            yield Label("Tools (from the server's catalog)", id="tools-label")
            yield SelectionList[str](id="tools")
            yield Label("First message (optional)")
            yield TextArea(self.first_message, id="first-message")
            yield from self.form_buttons()

    def on_mount(self) -> None:
        self.query_one("#model", Input).focus()
        self.catalog_server: str | None = None
        self.show_catalog(None, None)

    def show_catalog(self, server: str | None, catalog: ToolCatalog | None) -> None:
        """Offer the server's tools (those in its default set ticked); without a catalog the field is hidden and
        the default set is used."""
        tools = self.query_one("#tools", SelectionList)
        offered = catalog.offerable if catalog is not None else []
        self.catalog_server = server if offered else None
        tools.clear_options()
        for entry in offered:
            tools.add_option((entry.name, entry.name, entry.in_default_set))
        for widget in (tools, self.query_one("#tools-label", Label)):
            widget.display = bool(offered)

    def chosen_tools(self, server: str) -> tuple[str, ...] | None:
        if self.catalog_server != server:
            return None
        return tuple(self.query_one("#tools", SelectionList).selected)

    class ServerPicked(Message):
        """Another server is picked: the app fetches its tool catalog."""

        def __init__(self, server: str) -> None:
            super().__init__()
            self.server = server

    @on(Select.Changed, "#server")
    def _server_changed(self, event: Select.Changed) -> None:
        self.post_message(self.ServerPicked(str(event.value)))
        form = self.defaults.get(str(event.value), {})
        for name, widget_id in zip(FORM_FIELDS, ("model", "base-url", "api-key-env", "working-dir"), strict=True):
            if name in form:
                self.query_one(f"#{widget_id}", Input).value = form[name]

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_create()

    def action_create(self) -> None:
        server = self.query_one("#server", Select).value
        model = self.query_one("#model", Input).value.strip()
        working_dir = self.query_one("#working-dir", Input).value.strip()
        key_env = self.query_one("#api-key-env", Input).value.strip() or None
        if server is Select.BLANK or not server:
            self.fail("Pick a server.")
            return
        if not model:
            self.fail("A model is needed (e.g. anthropic/claude-sonnet-4-5): the server has no default.")
            return
        if not working_dir:
            self.fail("A working directory is needed (an absolute path on the server, e.g. /workspace/project).")
            return
        if not working_dir.startswith("/"):
            self.fail(f"The working directory must be an absolute path on the server, not {working_dir!r}.")
            return
        api_key = None
        if key_env:
            api_key = os.environ.get(key_env)
            if api_key is None:
                self.fail(f"Environment variable {key_env} is not set.")
                return
        self.dismiss(
            NewConversation(
                server=str(server),
                model=model,
                base_url=self.query_one("#base-url", Input).value.strip() or None,
                api_key_env=key_env,
                api_key=api_key,
                working_dir=working_dir,
                confirm=self.query_one("#confirm", Checkbox).value,
                first_message=self.query_one("#first-message", TextArea).text,
                tools=self.chosen_tools(str(server)),
            )
        )


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text (enter accepts, escape cancels)."""

    SCOPED_CSS = False
    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "", allow_empty: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="title", markup=False)
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("OK", variant="primary", id="ok")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.select_on_focus = False  # the first key typed must not replace the whole text
        box.focus()
        box.cursor_position = len(box.value)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        value = self.query_one(Input).value
        if not value.strip() and not self.allow_empty:
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    SCOPED_CSS = False
    """Yes/no (y / n, enter = the highlighted button, escape = no)."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape,n", "no", "No"), Binding("y", "yes", "Yes")]

    def __init__(self, question: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="title", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("No (n)", id="no")
                yield Button(f"{self.yes} (y)", variant="error", id="yes")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
