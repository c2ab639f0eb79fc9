"""Every action once: its keys, its title, its help line and section, when it applies, whether it acts on a server.

The app's and the widgets' BINDINGS, the footer (through `check_action`), the command palette, the help screen,
the confirmation panel's hints and the message box's placeholder are all generated from `ACTIONS`.

Safety rule (tested): an action that acts on a server is bound only to keys with a modifier (or a function key),
or it asks first and says what will run. No single printable key may approve, reject, delete, interrupt or send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingType

from tui.protocol import ExecutionStatus

from .textual_private import character_key

if TYPE_CHECKING:
    from tui.session import ConversationSession


class Owner(StrEnum):
    """Whose BINDINGS an action goes into (the handler is `action_<name>` there)."""

    APP = "app"
    LIST = "list"  # ConversationList
    OPTIONS = "options"  # the option list inside ConversationList
    LOG = "log"  # EventLog (bindings kept in its own module; the table documents them and a test compares)
    QUEUE = "queue"
    INPUT = "input"  # MessageInput
    ATTENTION = "attention"  # AttentionScreen
    CHANGES = "changes"  # ChangesScreen


class Section(StrEnum):
    """The help screen's sections, in this order."""

    ANYWHERE = "Anywhere"
    LIST = "Conversation list"
    LOG = "Event log"
    QUEUE = "Queue"
    INPUT = "Message box"
    ATTENTION = "Attention queue"
    CHANGES = "Changes"


@dataclass(frozen=True, slots=True)
class ActionState:
    """What the predicates look at: computed once by the app from the focus and the open conversation."""

    in_view: bool = False  # the focus is inside the open conversation
    open: bool = False  # a conversation is open (and still exists)
    busy: bool = False  # running, or a turn we started that the server has not reported yet
    interrupting: bool = False
    running: bool = False
    pausing: bool = False
    resumable: bool = False  # paused, or the queue is held / waiting while nothing runs
    target: bool = False  # a conversation to act on: the highlighted row in the list, else the open one
    target_waiting: bool = False  # that conversation waits for the user's confirmation
    can_steer: bool = False  # a message can go into the running turn (servers that answer mid-turn messages)
    runtime_problem: bool = False  # the server says the open conversation's runtime is not usable (1.58)

    @classmethod
    def of(
        cls,
        session: ConversationSession | None,
        *,
        in_view: bool,
        pausing: bool,
        target: bool,
        target_status: ExecutionStatus | None,
    ) -> ActionState:
        """From the open conversation's session and what the UI knows (focus, pausing, the targeted row)."""
        waiting = target_status is ExecutionStatus.WAITING_FOR_CONFIRMATION
        if session is None:
            return cls(in_view=in_view, pausing=pausing, target=target, target_waiting=waiting)
        status, turn = session.status, session.turn
        busy = status is ExecutionStatus.RUNNING or (turn.active and not turn.saw_running)
        return cls(
            in_view=in_view,
            open=True,
            busy=busy,
            interrupting=turn.interrupting,
            running=status is ExecutionStatus.RUNNING,
            pausing=pausing,
            resumable=status is ExecutionStatus.PAUSED
            or session.hold is not None
            or (bool(session.outbox.items) and not busy),
            target=target,
            target_waiting=waiting,
            can_steer=session.can_steer,
            runtime_problem=bool(session.info is not None and session.info.runtime_problem),
        )


Predicate = Callable[[ActionState], bool]


@dataclass(frozen=True, slots=True)
class Action:
    name: str  # the handler is `action_<name>` on the owner
    keys: str  # Textual key names, comma separated ("" when only in the palette)
    title: str  # the footer's label
    help: str  # the help screen's line (and the palette's help text)
    section: Section
    owner: Owner = Owner.APP
    applies: Predicate | None = None  # None: always
    on_server: bool = False  # changes something on a server
    confirms: bool = False  # asks first, saying what will run (then any key may start it)
    show: bool = True  # in the footer
    in_dialogs: bool = False  # also while a dialog, the help or the palette is open
    priority: bool = False
    key_display: str | None = None
    palette: str | None = None  # the command palette's title (None: not offered there)
    call: str | None = None  # the action string with arguments, e.g. "move(-1)" (default: the name)
    help_keys: str | None = None  # how the help writes the keys (default: from `keys`)

    @property
    def method(self) -> str:
        return "action_" + (self.call or self.name).split("(")[0]

    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.call or self.name,
            self.title,
            show=self.show,
            priority=self.priority,
            key_display=self.key_display,
        )

    @property
    def keys_text(self) -> str:
        if self.help_keys:
            return self.help_keys
        return " / ".join(KEY_WORDS.get(key, key) for key in self.keys.split(",") if key)


KEY_WORDS = {
    "escape": "esc",
    "question_mark": "?",
    "slash": "/",
    "up": "↑",
    "down": "↓",
    "shift+up": "shift+↑",
    "shift+down": "shift+↓",
    "ctrl+up": "ctrl+↑",
    "ctrl+down": "ctrl+↓",
}


def _busy(s: ActionState) -> bool:
    return s.busy and not s.interrupting


def _steerable(s: ActionState) -> bool:
    return s.can_steer and not s.interrupting


ACTIONS: tuple[Action, ...] = (
    # ---- anywhere (the app's own bindings)
    Action(
        "stop_and_send",
        "ctrl+s",
        "Stop&send",
        "stop & send: interrupt the running turn, then send the message",
        Section.ANYWHERE,
        applies=_busy,
        on_server=True,
        priority=False,  # the message box handles ctrl+s itself, in order with what is typed
        palette="Stop & send",
    ),
    Action(
        "steer",
        "ctrl+o",
        "Steer",
        "send the message into the running turn, without stopping it (servers that answer mid-turn: 1.58)",
        Section.ANYWHERE,
        applies=_steerable,
        on_server=True,
        priority=False,  # the message box handles ctrl+o itself, in order with what is typed
        palette="Steer: send into the running turn",
    ),
    Action(
        "send_now",
        "ctrl+s",
        "Send",
        "with nothing running: send the message (queued if the agent is busy)",
        Section.ANYWHERE,
        applies=lambda s: s.open,
        on_server=True,
        show=False,
        palette="Send / queue message",
    ),
    Action(
        "interrupt",
        "escape,ctrl+g",
        "Interrupt",
        "interrupt the running turn (the queue is kept)",
        Section.ANYWHERE,
        applies=_busy,
        on_server=True,
        key_display="esc",
        palette="Interrupt",
        help_keys="esc / ctrl+g",
    ),
    Action(
        "back_to_list",
        "escape",
        "List",
        "with nothing running: back to the conversation list",
        Section.ANYWHERE,
        applies=lambda s: s.in_view and not s.busy,
        key_display="esc",
    ),
    Action(
        "pause",
        "ctrl+t",
        "Pause",
        "pause after the current step (a running tool finishes first)",
        Section.ANYWHERE,
        applies=lambda s: s.running and not s.pausing,
        on_server=True,
        priority=True,
        palette="Pause after this step",
    ),
    Action(
        "resume",
        "ctrl+r",
        "Resume",
        "resume (run again / continue the queue)",
        Section.ANYWHERE,
        applies=lambda s: s.resumable,
        on_server=True,
        priority=True,
        palette="Resume",
    ),
    Action(
        "reprovision",
        "",
        "Reprovision",
        "ask the server to bring the conversation's runtime back (when it is missing or failed; 1.58)",
        Section.ANYWHERE,
        applies=lambda s: s.runtime_problem,
        on_server=True,
        palette="Reprovision the conversation's runtime",
    ),
    Action(
        "approve",
        "ctrl+y",
        "Approve",
        "approve the pending action(s) (of the highlighted conversation in the list)",
        Section.ANYWHERE,
        applies=lambda s: s.target_waiting,
        on_server=True,
        priority=True,
        palette="Approve pending action",
    ),
    Action(
        "reject",
        "ctrl+f",
        "Reject",
        "reject the pending action(s), with an optional reason",
        Section.ANYWHERE,
        applies=lambda s: s.target_waiting,
        on_server=True,
        confirms=True,
        priority=True,
        palette="Reject pending action",
    ),
    Action(
        "new_conversation",
        "ctrl+n",
        "New",
        "new conversation",
        Section.ANYWHERE,
        on_server=True,
        confirms=True,
        priority=True,
        palette="New conversation",
    ),
    Action(
        "rename",
        "f2",
        "Rename",
        "rename the conversation",
        Section.ANYWHERE,
        applies=lambda s: s.target,
        on_server=True,
        confirms=True,
        palette="Rename conversation",
    ),
    Action(
        "delete",
        "f8,delete",
        "Delete",
        "delete the conversation (asks first)",
        Section.ANYWHERE,
        applies=lambda s: s.target,
        on_server=True,
        confirms=True,
        key_display="f8",
        palette="Delete conversation",
    ),
    Action(
        "new_child",
        "f4",
        "Child",
        "start a child conversation of the open one on its task (1.58 servers)",
        Section.ANYWHERE,
        applies=lambda s: s.open,
        on_server=True,
        confirms=True,
        show=False,  # the footer is full; in the help and the palette
        palette="New child conversation",
    ),
    Action(
        "changes",
        "f5",
        "Changes",
        "the files the agent changed, with their diffs; comment on a line (1.58 servers)",
        Section.ANYWHERE,
        applies=lambda s: s.open,
        palette="Review changes",
    ),
    Action(
        "attention",
        "f3",
        "Attention",
        "attention queue: everything on every server that needs you (waiting, failed, stuck, finished)",
        Section.ANYWHERE,
        priority=True,
        palette="Attention queue",
    ),
    Action(
        "focus_list",
        "ctrl+l",
        "List",
        "focus the conversation list",
        Section.ANYWHERE,
        show=False,
        priority=True,
        palette="Focus conversation list",
    ),
    Action(
        "toggle_list",
        "f9",
        "List",
        "hide or show the conversation list (narrow terminals hide it while you are in a conversation)",
        Section.ANYWHERE,
        show=False,
        palette="Hide / show the conversation list",
    ),
    Action(
        "focus_next",
        "",
        "Next",
        "move between list, log, message and queue, and through a dialog's fields",
        Section.ANYWHERE,
        in_dialogs=True,
        help_keys="tab / shift+tab",
    ),
    Action(
        "command_palette",
        "",
        "Palette",
        "command palette (every action, switch conversation, theme)",
        Section.ANYWHERE,
        help_keys="ctrl+p",
    ),
    Action(
        "help", "f1,question_mark", "Help", "this help", Section.ANYWHERE, key_display="f1", palette="Keys and help"
    ),
    Action(
        "toggle_bell",
        "",
        "Bell",
        "ring the terminal bell when a background conversation needs you",
        Section.ANYWHERE,
        palette="Toggle bell",
    ),
    Action("refresh", "", "Refresh", "poll every server now", Section.ANYWHERE, palette="Refresh servers"),
    Action(
        "quit",
        "ctrl+q",
        "Quit",
        "quit (an agent server keeps running its conversations; the embedded demo stops with the app)",
        Section.ANYWHERE,
        show=False,
        priority=True,
        in_dialogs=True,
    ),
    # ---- the conversation list
    Action(
        "select",
        "enter",
        "Open",
        "open the highlighted conversation (↑ ↓ move)",
        Section.LIST,
        owner=Owner.OPTIONS,
        key_display="⏎",
    ),
    Action(
        "start_filter",
        "slash",
        "Filter",
        "filter: type to find (enter keeps it, esc clears)",
        Section.LIST,
        owner=Owner.LIST,
        key_display="/",
        palette="Filter conversations",
    ),
    Action(
        "cycle_sort",
        "s",
        "Sort",
        "sort: recent, status, title",
        Section.LIST,
        owner=Owner.LIST,
        palette="Sort conversations",
    ),
    Action(
        "toggle_pin",
        "p",
        "Pin",
        "pin: keep following it in the background",
        Section.LIST,
        owner=Owner.LIST,
        show=False,
    ),
    Action(
        "toggle_children",
        "space",
        "Fold",
        "fold / unfold a conversation's child conversations",
        Section.LIST,
        owner=Owner.LIST,
        show=False,
        key_display="space",
    ),
    # ---- the event log (bound in EventLog itself)
    Action("select_prev", "up,k", "Prev", "select the previous event", Section.LOG, owner=Owner.LOG, call="select(-1)"),
    Action("select_next", "down,j", "Next", "select the next event", Section.LOG, owner=Owner.LOG, call="select(1)"),
    Action("toggle_item", "enter,space", "Expand", "expand or fold the selected output", Section.LOG, owner=Owner.LOG),
    Action(
        "copy",
        "c,y",
        "Copy",
        "copy the selected message, action or output (OSC 52)",
        Section.LOG,
        owner=Owner.LOG,
        palette="Copy selected event",
    ),
    Action(
        "first",
        "home,g",
        "Older",
        "older events (fetched from the server when needed)",
        Section.LOG,
        owner=Owner.LOG,
    ),
    Action(
        "last", "end,G", "Newest", "back to the live tail (also >)", Section.LOG, owner=Owner.LOG, help_keys="end G >"
    ),
    Action(
        "jump_first",
        "ctrl+home,less_than_sign",
        "First",
        "the very first event (loads what it must)",
        Section.LOG,
        owner=Owner.LOG,
        show=False,
        help_keys="ctrl+home <",
    ),
    Action(
        "find", "slash", "Find", "find text in the log, also in events not loaded yet", Section.LOG, owner=Owner.LOG
    ),
    Action(
        "find_older",
        "n",
        "Next match",
        "the next (older) match",
        Section.LOG,
        owner=Owner.LOG,
        call="find_next(-1)",
        show=False,
    ),
    Action(
        "find_newer",
        "N",
        "Previous match",
        "the previous (newer) match",
        Section.LOG,
        owner=Owner.LOG,
        call="find_next(1)",
        show=False,
    ),
    Action(
        "toggle_timestamps", "t", "Times", "show or hide the events' times", Section.LOG, owner=Owner.LOG, show=False
    ),
    # ---- the queue (local: nothing here reaches the server before it is delivered)
    Action("edit", "e,enter", "Edit", "edit the queued message", Section.QUEUE, owner=Owner.QUEUE),
    Action("remove", "d,delete,x", "Remove", "remove it from the queue", Section.QUEUE, owner=Owner.QUEUE),
    Action(
        "move_up",
        "K,shift+up,ctrl+up",
        "Move up",
        "move it up",
        Section.QUEUE,
        owner=Owner.QUEUE,
        key_display="K",
        call="move(-1)",
    ),
    Action(
        "move_down",
        "J,shift+down,ctrl+down",
        "Move down",
        "move it down",
        Section.QUEUE,
        owner=Owner.QUEUE,
        key_display="J",
        call="move(1)",
    ),
    # ---- the attention queue (bound in AttentionScreen)
    Action(
        "approve_item",
        "ctrl+y",
        "Approve",
        "approve the highlighted conversation's pending action(s)",
        Section.ATTENTION,
        owner=Owner.ATTENTION,
        on_server=True,
    ),
    Action(
        "reject_item",
        "ctrl+f",
        "Reject",
        "reject them, with an optional reason",
        Section.ATTENTION,
        owner=Owner.ATTENTION,
        on_server=True,
        confirms=True,
    ),
    Action(
        "approve_all",
        "A",
        "Approve all",
        "approve every waiting conversation shown (lists each action and asks first)",
        Section.ATTENTION,
        owner=Owner.ATTENTION,
        on_server=True,
        confirms=True,
    ),
    Action("open_item", "enter", "Open", "open the conversation", Section.ATTENTION, owner=Owner.ATTENTION),
    Action(
        "dismiss_item",
        "d,delete",
        "Dismiss",
        "dismiss: hide it until it needs you again",
        Section.ATTENTION,
        owner=Owner.ATTENTION,
    ),
    Action(
        "close",
        "escape,f3",
        "Close",
        "back to the conversations",
        Section.ATTENTION,
        owner=Owner.ATTENTION,
        key_display="esc",
    ),
    # ---- the Changes view (bound in ChangesScreen)
    Action(
        "comment",
        "c",
        "Comment",
        "comment on the highlighted diff line: sent to the agent with the file and line (asks first)",
        Section.CHANGES,
        owner=Owner.CHANGES,
        on_server=True,
        confirms=True,
    ),
    Action("reload", "r", "Reload", "load the changes again", Section.CHANGES, owner=Owner.CHANGES),
    Action(
        "close_changes",
        "escape,f5",
        "Close",
        "back to the conversation",
        Section.CHANGES,
        owner=Owner.CHANGES,
        key_display="esc",
    ),
    # ---- the message box
    Action(
        "submit",
        "enter",
        "Send/queue",
        "send the message; queued if the agent is busy",
        Section.INPUT,
        owner=Owner.INPUT,
        on_server=True,
        priority=False,  # handled in MessageInput._on_key, in order with the characters
        key_display="⏎",
    ),
    Action("newline", "ctrl+j", "Newline", "new line in the message", Section.INPUT, owner=Owner.INPUT, show=False),
    Action(
        "history_back",
        "up",
        "History",
        "at the first line: the previous sent message",
        Section.INPUT,
        owner=Owner.INPUT,
        show=False,
        call="history(-1)",
    ),
    Action(
        "history_forward",
        "down",
        "History",
        "at the last line: the next sent message",
        Section.INPUT,
        owner=Owner.INPUT,
        show=False,
        call="history(1)",
    ),
)

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}
# The app's actions whose predicate can change while the screen does not (the footer is rebuilt when they do).
CONDITIONAL: tuple[str, ...] = tuple(a.name for a in ACTIONS if a.owner is Owner.APP and a.applies is not None)


def bindings(owner: Owner) -> list[BindingType]:
    """The BINDINGS of one owner (actions without keys are only in the palette or the help)."""
    return [action.binding() for action in ACTIONS if action.owner is owner and action.keys]


def applies(name: str, state: ActionState) -> bool:
    action = BY_NAME.get(name)
    return action is None or action.applies is None or action.applies(state)


def palette(state: ActionState) -> Iterator[Action]:
    """The app's actions the command palette offers now."""
    for action in ACTIONS:
        if action.palette and (action.applies is None or action.applies(state)):
            yield action


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(keys, what)]) for the help screen."""
    return [
        (section.value, [(a.keys_text, a.help) for a in ACTIONS if a.section is section and a.help])
        for section in Section
    ]


def key_hint(name: str) -> str:
    """The first key of an action as the footer would show it (for hints written in prose)."""
    action = BY_NAME[name]
    return action.key_display or KEY_WORDS.get(action.keys.split(",")[0], action.keys.split(",")[0])


def input_placeholder() -> str:
    # Short enough for an 80-column terminal with the list hidden.
    return f"{key_hint('submit')} send · {key_hint('newline')} newline · {key_hint('stop_and_send')} stop & send"


PRINTABLE = "".join(chr(c) for c in range(32, 127))  # what a stray keystroke or a paste can type


def printable_key(key: str) -> bool:
    """A key that types a character with no modifier."""
    return key in _PRINTABLE_KEYS


_PRINTABLE_KEYS = frozenset(character_key(char) for char in PRINTABLE)
