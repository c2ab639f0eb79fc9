"""The fleet: every conversation on every server, grouped by server, as one line each.

Takes plain row data (`ServerRow`, `ConvRow`, built by `tui.session.WatchList`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.protocol import ExecutionStatus
from tui.session import ConvRow, ServerRow, conv_key, split_key

from .. import render
from ..actions import ACTIONS, Owner, bindings
from ..render import styled
from ..textual_private import LineOptionList

SORTS = ("recent", "status", "title")
TICK_HZ = 2  # spinners and ages: enough to show life, few repaints (and bytes) with many running rows
_STATUS_ORDER = {
    ExecutionStatus.WAITING_FOR_CONFIRMATION: 0,
    ExecutionStatus.ERROR: 1,
    ExecutionStatus.STUCK: 2,
    ExecutionStatus.RUNNING: 3,
    ExecutionStatus.PAUSED: 4,
    ExecutionStatus.FINISHED: 5,
    ExecutionStatus.IDLE: 6,
}


_SERVER_STYLE = {
    "ok": "green",
    "connecting": "dim",
    "unauthorized": "bold red",
    "unreachable": "bold red",
    "dormant": "yellow",
}


def server_prompt(row: ServerRow, now: float) -> Table | Group:
    """The server's own line; when it is in trouble, a second line says what and what to do."""
    grid = Table.grid(expand=True)
    grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    grid.add_column(no_wrap=True, justify="right")
    name = styled("▾ ", "dim")
    name.append(render.clean(row.name), style="bold")
    state = row.state
    style = _SERVER_STYLE.get(state, "")
    if state == "ok":
        count = Text()
        if row.full:  # 1.58 refused a run for lack of room: what is sent or created waits for a free slot
            count.append("full  ", style="bold yellow")
        count.append(f"{len(row.conversations)}", style=style)
        grid.add_row(name, count)
        if row.embedded:  # the first screen says what this is and how to leave it
            hint = Text("  scripted demo, no LLM · a real server: openhands-tui --server URL", style="dim italic")
            hint.overflow = "fold"
            return Group(grid, hint)
        return grid
    if state == "unreachable":
        detail = "unreachable"
        if row.retry_at:
            detail += f", retry in {max(0, int(row.retry_at - now))}s"
    elif state == "unauthorized":
        detail = "unauthorized: check the session key"
    elif state == "dormant":
        detail = "dormant: run `openhands-tui init`"
    elif state == "error":
        detail = "error: " + render.one_line(row.message, 80)
    else:
        detail = state
    grid.add_row(name, Text(""))
    # The detail wraps (a narrow list must still show the retry time and the whole `init` hint).
    return Group(grid, Text("  " + detail, style=style, overflow="fold"))


ServerSig = tuple[str, str, str, int | None, int, bool]


def _server_sig(row: ServerRow, now: float) -> ServerSig:
    """Everything `server_prompt` shows: the line is rebuilt only when this changes."""
    retry = max(0, int(row.retry_at - now)) if row.state == "unreachable" and row.retry_at else None
    state = row.state + ("+embedded" if row.embedded else "")
    return row.name, state, row.message if row.state == "error" else "", retry, len(row.conversations), row.full


_RUNTIME_LABELS = {"missing": "no runtime", "error": "runtime failed", "ownership_lost": "runtime moved"}


def runtime_label(status: str, short: bool = False) -> str:
    """A conversation's unusable runtime in a few cells (fewer in a narrow list)."""
    if short:
        return "✗runtime"
    return "✗ " + _RUNTIME_LABELS.get(status, "runtime " + render.one_line(status, 16))


def children_summary(statuses: tuple[ExecutionStatus, ...], width: int = 0) -> Text:
    """A parent's children in a few cells: how many run, wait for confirmation, failed. Narrower lists drop the
    running count, then show the count only, coloured by the most urgent of them."""
    short = 0 < width < 30
    running = sum(s is ExecutionStatus.RUNNING for s in statuses)
    waiting = sum(s is ExecutionStatus.WAITING_FOR_CONFIRMATION for s in statuses)
    failed = sum(s in (ExecutionStatus.ERROR, ExecutionStatus.STUCK) for s in statuses)
    if short:
        style = "bold magenta" if waiting else "bold red" if failed else "cyan" if running else "dim"
        return Text(f"⑃{len(statuses)} ", style=style)
    text = Text(f"⑃{len(statuses)}", style="dim")
    if running and not 0 < width < 60:
        text.append(f" {running}▶", style="cyan")
    if waiting:
        text.append(f" {waiting}?", style="bold magenta")
    if failed:
        text.append(f" {failed}✗", style="bold red")
    return text + Text(" ")


def conv_prompt(
    row: ConvRow, now: float, selected: bool = False, width: int = 0, depth: int = 0, collapsed: bool = False
) -> Text:
    """One line: status glyph, title (cut with an ellipsis), then the meta right-aligned in `width` cells.

    A plain one-line `Text` (no table layout): cheap to render, and two rows with the same text compare equal, so
    an unchanged row is never re-rendered."""
    meta = Text()
    if row.children:
        meta.append_text(children_summary(row.children, width))
    if row.connection and row.connection not in ("live", ""):
        meta.append("⚡", style="yellow")
    if row.runtime:  # it cannot run until reprovisioned (the status line and the palette say how)
        meta.append(runtime_label(row.runtime, short=0 < width < 48) + " ", style="bold red")
    if row.queued:
        meta.append(f"q{row.queued} ", style="bold cyan")
    c = render.cost(row.cost)
    if c:
        meta.append(c + " ", style="dim")
    meta.append(render.age(row.last_activity, now), style="dim")
    if row.attention:
        meta.append(
            " ◆", style="bold magenta" if row.status is ExecutionStatus.WAITING_FOR_CONFIRMATION else "bold yellow"
        )
    title = Text(render.one_line(row.title or row.id[:8], 200))
    if row.pinned:
        title = styled("⚑ ", "dim") + title
    if row.forked_from:
        origin = render.one_line(row.forked_from_title, 16 if width == 0 or width >= 60 else 6)
        title = styled(f"⑂{origin} ", "dim") + title
    if row.children:
        title = styled("▸ " if collapsed else "▾ ", "dim") + title
    line = Text()
    if depth:
        line.append("  " * (depth - 1) + "└ ", style="dim")
    line.append_text(render.status_glyph(row.status, now))
    line.append(" ")
    if width > 0:
        room = max(1, width - line.cell_len - meta.cell_len - (1 if meta.cell_len else 0))
        title.truncate(room, overflow="ellipsis", pad=True)
        line.append_text(title)
        if meta.cell_len:
            line.append(" ")
            line.append_text(meta)
    else:
        line.append_text(title)
        line.append(" ")
        line.append_text(meta)
    line.no_wrap = True
    line.overflow = "ellipsis"
    line.end = ""
    return line


class FleetOptions(LineOptionList):
    """The option list inside `ConversationList` (line-rendered, cheap for hundreds of rows)."""

    DEFAULT_CSS = """
    FleetOptions { height: 1fr; border: none; padding: 0; background: $surface; }
    FleetOptions:focus { border: none; }
    """

    BINDINGS = bindings(Owner.OPTIONS)


class FilterInput(Input):
    """The `/` filter box: enter keeps the filter and goes back to the list, esc clears it."""

    BINDINGS = [
        Binding("enter", "submit", "Keep filter", key_display="⏎"),
        Binding("escape", "clear_filter", "Clear filter", key_display="esc"),
    ]

    def action_clear_filter(self) -> None:
        for ancestor in self.ancestors:
            if isinstance(ancestor, ConversationList):
                ancestor.clear_filter()
                break


# After a move in the list, rows keep their places this long before a re-sort applies.
HOLD_ORDER = 2.0
NAV_KEYS = frozenset({"up", "down", "k", "j", "pageup", "pagedown", "home", "end"})


# Keys that act in the list (its own, the rows', the app's, moving): every other character starts the filter.
_BOUND_KEYS = (
    NAV_KEYS
    | {"space", "question_mark", "slash"}
    | {
        key
        for action in ACTIONS
        if action.owner in (Owner.APP, Owner.LIST, Owner.OPTIONS)
        for key in action.keys.split(",")
    }
)


class ConversationList(Vertical):
    """Filterable, sortable list of conversations grouped by server."""

    DEFAULT_CSS = """
    ConversationList { width: 34; min-width: 24; border-right: vkey $panel-lighten-2; }
    ConversationList #fleet-counts { height: 1; color: $text-muted; padding: 0 1; }
    ConversationList #fleet-filter { display: none; height: 3; }
    ConversationList.-filtering #fleet-filter { display: block; }
    """

    BINDINGS = bindings(Owner.LIST)

    class Selected(Message):
        def __init__(self, server: str, conversation_id: str) -> None:
            super().__init__()
            self.server = server
            self.conversation_id = conversation_id

    class Highlighted(Message):
        def __init__(self, server: str, conversation_id: str) -> None:
            super().__init__()
            self.server = server
            self.conversation_id = conversation_id

    class PinToggled(Message):
        def __init__(self, server: str, conversation_id: str) -> None:
            super().__init__()
            self.server = server
            self.conversation_id = conversation_id

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.servers: list[ServerRow] = []
        self.sort = SORTS[0]
        self.filter_text = ""
        self.current: str | None = None  # key of the open conversation
        self._rows: dict[str, ConvRow] = {}
        self._depth: dict[str, int] = {}  # row key -> depth in the tree of child conversations (0: top level)
        self.collapsed: set[str] = set()  # row keys whose children are hidden
        self._order: list[str] = []
        self._lines: dict[str, tuple[ConvRow, tuple[object, ...], Text]] = {}  # row key -> what `_line` drew last
        self._dirty: set[str] = set()
        self._dirty_timer: Timer | None = None
        self._width = -1
        self._server_shown: dict[str, ServerSig] = {}  # what each server line shows (`_server_sig`)
        self._options = FleetOptions(id="fleet-options")
        self._counts = Static("", id="fleet-counts")
        self._counts_shown: Text | None = None
        self.attention_count = 0  # conversations in the attention queue (shown in the counts line)
        self._navigated_at = -HOLD_ORDER  # monotonic time of the user's last move in the list
        self._hold_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield self._counts
        yield FilterInput(placeholder="filter (esc to clear)", id="fleet-filter", select_on_focus=False)
        yield self._options

    def on_mount(self) -> None:
        self.set_interval(1 / TICK_HZ, self._tick)

    @property
    def options(self) -> FleetOptions:
        return self._options

    @property
    def rows_focused(self) -> bool:
        """The rows (not the filter box) have the keys."""
        return self._options.has_focus

    def focus_rows(self) -> None:
        self._options.focus()

    # ------------------------------------------------------------------ data in

    def set_servers(self, servers: list[ServerRow]) -> None:
        self.servers = servers
        self._rebuild()

    def update_row(self, row: ConvRow) -> None:
        """Refresh one conversation's line in place (or rebuild if it is new, or its place changes). Nothing
        happens when no field the row shows changed; changed lines are repainted together, once, shortly after."""
        old = self._rows.get(row.key)
        if old is not None and old == row:
            return
        for server in self.servers:
            if server.name == row.server:
                for i, existing in enumerate(server.conversations):
                    if existing.id == row.id:
                        server.conversations[i] = row
                        break
        if (
            old is None
            or (old.status != row.status and self.sort == "status")
            or (old.parent, bool(old.children)) != (row.parent, bool(row.children))
        ):
            self._rebuild()
            return
        self._rows[row.key] = row
        if old.status != row.status:
            self._update_counts(self._counts_of())
        self._dirty.add(row.key)
        if self._dirty_timer is None:
            self._dirty_timer = self.set_timer(1 / 20, self._apply_dirty)

    def _apply_dirty(self) -> None:
        self._dirty_timer = None
        dirty, self._dirty = self._dirty, set()
        if not dirty:
            return
        now = self.clock()
        width = self.options.row_width
        for key in dirty:
            row = self._rows.get(key)
            if row is not None:
                if not self.options.set_line_prompt(key, self._line(row, now, width)):
                    self._rebuild()
                    return

    def _counts_of(self) -> dict[ExecutionStatus, int]:
        counts: dict[ExecutionStatus, int] = {}
        for server in self.servers:
            for row in server.conversations:
                counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def row(self, server: str, cid: str) -> ConvRow | None:
        return self._rows.get(conv_key(server, cid))

    @property
    def highlighted(self) -> ConvRow | None:
        option = self.options.highlighted_option
        if option is None or option.id is None:
            return None
        return self._rows.get(option.id)

    def select_key(self, key: str) -> None:
        self.current = key
        try:
            self.options.highlighted = self.options.get_option_index(key)
        except Exception:
            pass

    # ------------------------------------------------------------------ rendering

    def on_key(self, event: events.Key) -> None:
        if event.key in NAV_KEYS and self._options.has_focus:
            self._navigated_at = time.monotonic()
        elif event.is_printable and event.character and event.key not in _BOUND_KEYS:
            # Type to find: a character no key is bound to starts the filter with it. Keys of a burst that were
            # already on their way to the rows land here too, after the focus moved: they go to the filter, in order.
            event.stop()
            event.prevent_default()
            box = self.query_one("#fleet-filter", Input)
            self.add_class("-filtering")
            box.value = box.value + event.character
            box.cursor_position = len(box.value)
            box.focus()

    @property
    def holding_order(self) -> bool:
        """The rows keep their places now (the user is moving through them): a re-sort would change nothing."""
        return self._holding()

    def _holding(self) -> bool:
        """The user is moving through the list: rows keep their places for a moment (a conversation that just
        finished must not jump to the top between two key presses)."""
        return time.monotonic() - self._navigated_at < HOLD_ORDER

    def _visible(self, rows: list[ConvRow]) -> list[ConvRow]:
        needle = self.filter_text.lower()
        if needle:
            rows = [
                r
                for r in rows
                if needle in (r.title or "").lower() or needle in r.status.value or needle in r.id.lower()
            ]
        if self.sort == "status":
            rows = sorted(rows, key=lambda r: (not r.pinned, _STATUS_ORDER.get(r.status, 9), -(r.last_activity or 0)))
        elif self.sort == "title":
            rows = sorted(rows, key=lambda r: (not r.pinned, (r.title or "").lower()))
        else:
            rows = sorted(rows, key=lambda r: (not r.pinned, -(r.last_activity or 0)))
        if self._holding() and self._order:
            # Same order as on screen; rows that were not there yet go after them, in their sorted order.
            place = {key: i for i, key in enumerate(self._order)}
            rows = sorted(rows, key=lambda r: place.get(r.key, len(place)))
            if self._hold_timer is None:
                self._hold_timer = self.set_timer(HOLD_ORDER, self._release_hold)
        return rows if needle else self._tree(rows)

    def _tree(self, rows: list[ConvRow]) -> list[ConvRow]:
        """Children right under their parent (in the same order among themselves), indented; a collapsed
        parent's children hidden. A row whose parent is not listed (or a loop) stays at the top level."""
        listed = {r.id for r in rows}
        children: dict[str, list[ConvRow]] = {}
        for row in rows:
            if row.parent and row.parent in listed:
                children.setdefault(row.parent, []).append(row)
        out: list[ConvRow] = []
        placed: set[str] = set()

        def place(row: ConvRow, depth: int) -> None:
            out.append(row)
            placed.add(row.id)
            self._depth[row.key] = depth
            for child in children.get(row.id, ()):
                if child.id not in placed:
                    if row.key in self.collapsed:
                        placed.add(child.id)
                        self._hide(child, children, placed)
                    else:
                        place(child, depth + 1)

        for row in rows:
            if not (row.parent and row.parent in listed):
                place(row, 0)
        for row in rows:  # parents that form a loop: shown flat rather than lost
            if row.id not in placed:
                place(row, 0)
        return out

    def _hide(self, row: ConvRow, children: dict[str, list[ConvRow]], placed: set[str]) -> None:
        for child in children.get(row.id, ()):
            if child.id not in placed:
                placed.add(child.id)
                self._hide(child, children, placed)

    def _line(self, row: ConvRow, now: float, width: int) -> Text:
        selected, depth, collapsed = row.key == self.current, self._depth.get(row.key, 0), row.key in self.collapsed
        # A row drawn before with the same fields, age, spinner frame and place keeps its line: a full pass over
        # a thousand rows (a new row, the re-sort) builds only the lines that changed.
        frame = int(now * 8) % len(render.SPINNER) if row.status is ExecutionStatus.RUNNING else -1
        shape = (render.age(row.last_activity, now), frame, selected, width, depth, collapsed)
        drawn = self._lines.get(row.key)
        if drawn is not None and drawn[1] == shape and drawn[0] == row:
            return drawn[2]
        line = conv_prompt(row, now, selected, width, depth, collapsed)
        self._lines[row.key] = (row, shape, line)
        return line

    def action_toggle_children(self) -> None:
        """Fold or unfold the highlighted conversation's children."""
        row = self.highlighted
        if row is None or not row.children:
            return
        self.collapsed.symmetric_difference_update({row.key})
        self._rebuild()

    def _release_hold(self) -> None:
        self._hold_timer = None
        if self._holding():
            self._hold_timer = self.set_timer(HOLD_ORDER, self._release_hold)
        else:
            self._rebuild()

    def _rebuild(self) -> None:
        now = self.clock()
        width = self.options.row_width
        options: list[Option] = []
        self._rows = {}
        self._depth = {}
        self._dirty.clear()
        counts: dict[ExecutionStatus, int] = {}
        for server in self.servers:
            options.append(Option(server_prompt(server, now), id=f"s\x1f{server.name}", disabled=True))
            for row in self._visible(server.conversations):
                self._rows[row.key] = row
                options.append(Option(self._line(row, now, width), id=row.key))
            for row in server.conversations:
                counts[row.status] = counts.get(row.status, 0) + 1
        opts = self.options
        order = [o.id for o in options]
        self._order = [k for k in order if k in self._rows]
        if len(self._lines) > len(self._rows):  # rows gone or filtered out
            self._lines = {k: v for k, v in self._lines.items() if k in self._rows}
        if order == [o.id for o in opts.options] and self._width == width:
            self._patch(options, now)
        else:
            self._replace(options, now, width)
        self._update_counts(counts)

    def _patch(self, options: list[Option], now: float) -> None:
        """Same rows in the same places (a poll that changed nothing, or a few fields): touch only the lines
        whose text changed, instead of rebuilding (and re-measuring) every option."""
        opts = self.options
        for new in options:
            if new.id is not None and new.id.startswith("c\x1f"):
                opts.set_line_prompt(new.id, new.prompt)
        for server in self.servers:
            key = f"s\x1f{server.name}"
            sig = _server_sig(server, now)
            if self._server_shown.get(key) != sig:
                self._server_shown[key] = sig
                opts.replace_option_prompt(key, server_prompt(server, now))

    def _replace(self, options: list[Option], now: float, width: int) -> None:
        """Rows came, went or moved: set every option again, keeping the highlighted row."""
        opts = self.options
        self._width = width
        self._server_shown = {f"s\x1f{server.name}": _server_sig(server, now) for server in self.servers}
        previous = opts.highlighted_option.id if opts.highlighted_option is not None else self.current
        opts.set_options(options)
        target = previous if previous in self._rows else self.current
        if target in self._rows:
            opts.highlighted = opts.get_option_index(target)
        elif self._rows:
            opts.highlighted = opts.get_option_index(next(iter(self._rows)))

    def _update_counts(self, counts: dict[ExecutionStatus, int]) -> None:
        text = Text()
        for status in sorted(counts, key=lambda s: _STATUS_ORDER.get(s, 9)):
            text.append_text(render.status_glyph(status, 0))
            text.append(f"{counts[status]} ")
        if self.attention_count:
            text.append(f"⚑{self.attention_count} ", style="bold yellow")
        text.append(f"· {self.sort}", style="dim")
        if self.filter_text:
            text.append(f" · /{render.one_line(self.filter_text, 12)}", style="bold")
        if text == self._counts_shown:
            return
        self._counts_shown = text
        # One fixed-height line: no layout of the screen (a layout repaints every visible line of the list).
        self._counts.update(text, layout=False)

    def set_attention(self, count: int) -> None:
        """How many conversations the attention queue holds (shown in the counts line)."""
        if count != self.attention_count:
            self.attention_count = count
            self._update_counts(self._counts_of())

    def _tick(self) -> None:
        """2 Hz: the spinners of running rows and the ages; only lines whose text changed are repainted."""
        now = self.clock()
        opts = self.options
        width = opts.row_width
        if width != self._width:
            self._rebuild()
            return
        for key, row in self._rows.items():
            if row.status is ExecutionStatus.RUNNING or key in self._dirty:
                opts.set_line_prompt(key, self._line(row, now, width))
        self._dirty.clear()
        for server in self.servers:
            if server.state == "unreachable" and server.retry_at:
                key = f"s\x1f{server.name}"
                sig = _server_sig(server, now)
                if self._server_shown.get(key) != sig:
                    self._server_shown[key] = sig
                    try:
                        opts.replace_option_prompt(key, server_prompt(server, now))
                    except Exception:
                        pass

    def on_resize(self) -> None:
        if self.options.row_width != self._width:
            self.call_after_refresh(self._rebuild)

    # ------------------------------------------------------------------ input

    @on(OptionList.OptionSelected, "#fleet-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        parts = split_key(event.option.id or "")
        if parts:
            self.post_message(self.Selected(*parts))

    @on(OptionList.OptionHighlighted, "#fleet-options")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        parts = split_key(event.option.id or "")
        if parts:
            self.post_message(self.Highlighted(*parts))

    def action_start_filter(self) -> None:
        self.add_class("-filtering")
        box = self.query_one("#fleet-filter", Input)
        box.value = self.filter_text
        box.focus()

    @on(Input.Changed, "#fleet-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value
        self._rebuild()

    @on(Input.Submitted, "#fleet-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.filter_text:
            self.remove_class("-filtering")
        self.options.focus()

    def clear_filter(self) -> None:
        self.filter_text = ""
        self.query_one("#fleet-filter", Input).value = ""
        self.remove_class("-filtering")
        self._rebuild()
        self.options.focus()

    def restore(self, sort: str, filter_text: str) -> None:
        """The sort and filter of the last run."""
        if sort in SORTS:
            self.sort = sort
        if filter_text:
            self.filter_text = filter_text
            self.query_one("#fleet-filter", Input).value = filter_text
            self.add_class("-filtering")
        self._rebuild()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._rebuild()

    def action_toggle_pin(self) -> None:
        row = self.highlighted
        if row is not None:
            self.post_message(self.PinToggled(row.server, row.id))
