"""Blocks (see `transcript`) as Rich renderables: tool calls, diffs, code, plans, reasoning, footers. No Textual.

Every string from the server goes through `render.clean` (or `ansi.ansi_text` for terminal output, which keeps
only SGR colours) and is appended to `rich.text.Text`; nothing is parsed as markup. Code (commands, created files,
diffs, markdown code blocks) is never wrapped: a line wider than the view is cropped and ends with a `›` mark.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.rule import Rule
from rich.style import Style
from rich.text import Span, Text

from tui import protocol
from tui.protocol import ExecutionStatus
from tui.sanitize import json_text

from . import diffs, render
from .ansi import ansi_text
from .transcript import Block

if TYPE_CHECKING:
    pass

THEME = "ansi_dark"
FOLD_AT = 12  # a tool block whose detail is longer than this many lines starts folded
DIFF_FOLD_AT = 40  # the same for a diff (the diff is what people want to see)
MAX_CODE_LINES = 2000  # a created file or a diff longer than this is cut (with a note)
CROP_MARK = "›"
SHELL_TOOLS = frozenset({"terminal", "bash", "execute_bash", "shell", "run", "execute_command"})
LEXERS = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".jsx": "jsx",
    ".json": "json",
    ".md": "markdown",
    ".sh": "bash",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".toml": "toml",
    ".rs": "rust",
    ".go": "go",
    ".html": "html",
    ".css": "css",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".java": "java",
    ".rb": "ruby",
    ".sql": "sql",
    ".txt": "text",
}


def lexer_for(path: str) -> str:
    name = os.path.basename(path)
    if name in ("Makefile", "Dockerfile"):
        return name.lower()
    return LEXERS.get(os.path.splitext(name)[1].lower(), "text")


# ---------------------------------------------------------------- code that is never wrapped


class CroppedLines:
    """Lines shown as they are, never wrapped: cut at the width with a mark (code keeps its indentation)."""

    def __init__(self, lines: list[Text], gutter: list[Text] | None = None, fills: list[str] | None = None) -> None:
        self.lines = lines
        self.gutter = gutter
        self.fills = fills  # a background style per line, drawn to the full width (diff lines)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        gutter_width = max((g.cell_len for g in self.gutter), default=0) if self.gutter else 0
        for index, line in enumerate(self.lines):
            row = Text(end="\n", no_wrap=True, overflow="crop")
            if self.gutter is not None:
                row.append_text(self.gutter[index])
                row.pad_right(gutter_width - self.gutter[index].cell_len)
            room = max(1, width - row.cell_len)
            body = line.copy()
            body.end = ""
            if body.cell_len > room:
                body.truncate(room - 1)
                body.append(CROP_MARK, style="bold yellow")
            row.append_text(body)
            fill = self.fills[index] if self.fills is not None and index < len(self.fills) else ""
            if fill:
                start = gutter_width if self.gutter is not None else 0
                row.pad_right(max(0, width - row.cell_len))
                row.stylize(fill, start)
            yield row

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Any:
        from rich.measure import Measurement

        return Measurement(1, options.max_width)


class SummaryLine:
    """One line: `left` cut with an ellipsis so that `right` (a tool's status) always shows in full."""

    def __init__(self, left: Text, right: Text) -> None:
        self.left = left
        self.right = right

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        right = self.right
        room = max(1, width - right.cell_len - (2 if right.cell_len else 0))
        left = self.left.copy()
        left.end = ""
        if left.cell_len > room:
            left.truncate(room, overflow="ellipsis")
        line = Text(no_wrap=True, overflow="crop")
        line.append_text(left)
        if right.cell_len:
            line.append("  ")
            line.append_text(right)
        yield line


def _no_background(text: Text) -> Text:
    """The syntax theme's colours without its backgrounds (the view's own background shows through)."""
    text.style = ""
    text.spans = [
        Span(span.start, span.end, _fg_only(span.style)) if isinstance(span.style, Style) else span
        for span in text.spans
    ]
    return text


def _fg_only(style: Style) -> Style:
    return Style(color=style.color, bold=style.bold, italic=style.italic, underline=style.underline)


def highlight(code: str, lexer: str) -> list[Text]:
    """`code` highlighted, one Text per line (tabs expanded)."""
    code = code.expandtabs(4)
    if lexer == "text":
        return [Text(line) for line in code.split("\n")]
    from rich.syntax import Syntax  # pygments: with the first code shown, not at start-up

    syntax = Syntax("", lexer, theme=THEME)
    text = _no_background(syntax.highlight(code))
    text.rstrip()
    lines = text.split("\n", allow_blank=True)
    return list(lines)


def code_view(code: str, lexer: str, *, numbers: bool = False) -> CroppedLines:
    lines = highlight(code.rstrip("\n"), lexer)
    more = len(lines) - MAX_CODE_LINES
    lines = lines[:MAX_CODE_LINES]
    gutter = [Text(f"{n:>{len(str(len(lines)))}} ", style="dim") for n in range(1, len(lines) + 1)] if numbers else None
    if more > 0:
        lines.append(Text(f"… {more} more lines", style="dim italic"))
        if gutter is not None:
            gutter.append(Text(""))
    return CroppedLines(lines, gutter)


def __getattr__(name: str) -> Any:
    # The markdown renderer (rich.markdown: markdown-it, pygments) loads with the first message shown, not
    # before the first frame: see `markdown_view`.
    if name in ("ViewMarkdown", "CropCodeBlock"):
        from . import markdown_view

        return getattr(markdown_view, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- diffs

ADD = "green"
REMOVE = "red"
ADD_FILL = "on #143d22"
REMOVE_FILL = "on #4a161b"


def diff_view(change: diffs.FileChange, lexer: str) -> CroppedLines:
    """The diff's lines with line numbers (old for removed lines, new for the others), coloured by sign."""
    lines: list[Text] = []
    gutter: list[Text] = []
    fills: list[str] = []
    old_no = new_no = 0
    for raw in change.lines[:MAX_CODE_LINES]:
        if raw.startswith("@@"):
            old_no, new_no = _hunk_start(raw)
            lines.append(Text(render.clean(raw), style="cyan dim"))
            gutter.append(Text(""))
            fills.append("")
            continue
        sign, body = raw[:1], render.clean(raw[1:])
        code = highlight(body, lexer)[0] if body else Text("")
        if sign == "+":
            number, style, mark = new_no, ADD, "+"
            new_no += 1
        elif sign == "-":
            number, style, mark = old_no, REMOVE, "-"
            old_no += 1
        else:
            number, style, mark = new_no, "", " "
            old_no += 1
            new_no += 1
        row = Text()
        row.append(mark + " ", style=f"bold {style}" if style else "dim")
        row.append_text(code)
        lines.append(row)
        gutter.append(Text(f"{number:>4} ", style="dim"))
        fills.append(ADD_FILL if sign == "+" else REMOVE_FILL if sign == "-" else "")
    if len(change.lines) > MAX_CODE_LINES:
        lines.append(Text(f"… {len(change.lines) - MAX_CODE_LINES} more diff lines", style="dim italic"))
        gutter.append(Text(""))
    return CroppedLines(lines, gutter, fills)


def _hunk_start(header: str) -> tuple[int, int]:
    try:
        old, new = header.split("@@")[1].split()[:2]
        return abs(int(old.split(",")[0])), int(new.split(",")[0].lstrip("+"))
    except (IndexError, ValueError):
        return 0, 0


# ---------------------------------------------------------------- tool blocks


def _action(block: Block) -> dict[str, Any]:
    event = block.event
    if isinstance(event, protocol.ActionEvent):
        return render.action_arguments(event)
    return {}


def _observation(block: Block) -> dict[str, Any]:
    result = block.result
    obs = getattr(result, "observation", None)
    return obs if isinstance(obs, dict) else {}


def tool_name(block: Block) -> str:
    event = block.event
    return render.clean(getattr(event, "tool_name", "") or _action(block).get("kind") or "tool")


def file_change(block: Block) -> diffs.FileChange | None:
    """The block's file edit (computed once per version of the block: a diff of a large file is not free)."""
    if "change" not in block.cache:
        action = _action(block)
        block.cache["change"] = diffs.file_change(tool_name(block), action, _observation(block)) if action else None
    change: diffs.FileChange | None = block.cache["change"]
    return change


def result_text(block: Block, *, colours: bool = False) -> Text:
    """The tool's output (observation text, rejection reason or error)."""
    result = block.result
    if result is None:
        return Text("")
    if isinstance(result, protocol.AgentErrorEvent):
        return Text(render.clean(result.error), style="dim" if block.interrupted else "red")
    if result.kind == "UserRejectObservation":
        return Text(render.clean(getattr(result, "rejection_reason", "")), style="red")
    raw = getattr(result, "text", "") or ""
    if not raw:
        obs = _observation(block)
        for key in ("output", "content", "message", "error"):
            if isinstance(obs.get(key), str):
                raw = obs[key]
                break
    if colours:
        return ansi_text(raw.rstrip("\n"))
    return Text(render.clean(raw).rstrip("\n"))


def exit_code(block: Block) -> int | None:
    obs = _observation(block)
    code = obs.get("exit_code")
    if not isinstance(code, int):
        meta = obs.get("metadata")
        code = meta.get("exit_code") if isinstance(meta, dict) else None
    return code if isinstance(code, int) and code >= 0 else None


def is_error(block: Block) -> bool:
    result = block.result
    if result is None:
        return False
    if isinstance(result, protocol.AgentErrorEvent):
        return not block.interrupted
    if result.kind == "UserRejectObservation":
        return True
    code = exit_code(block)
    return bool(getattr(result, "is_error", False)) or (code is not None and code != 0)


def seconds_between(start: str, end: str) -> float | None:
    a, b = render.parse_time(start), render.parse_time(end)
    return None if a is None or b is None else max(0.0, b - a)


def short_duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    return render.duration(seconds)


def tool_status(block: Block, frame: int = 0) -> Text:
    """Running (a spinner), ✓ / ✗ with the exit code, error, rejected, interrupted by you; and the duration."""
    result = block.result
    if result is None:
        if block.event.kind != "ActionEvent":
            return Text("")
        if block.waiting:
            return Text("? awaiting your approval", style="bold magenta")
        return Text(render.SPINNER[frame % len(render.SPINNER)] + " running", style="bold cyan")
    out = Text()
    if block.interrupted:
        out.append("■ interrupted by you", style="bold yellow")
    elif result.kind == "UserRejectObservation":
        out.append("✗ rejected", style="bold red")
    elif isinstance(result, protocol.AgentErrorEvent):
        out.append("✗ error", style="bold red")
    else:
        code = exit_code(block)
        if is_error(block):
            out.append("✗ " + (f"exit {code}" if code is not None else "error"), style="bold red")
        else:
            out.append("✓" + (f" {code}" if code is not None else ""), style="green")
    if block.event.kind == "ActionEvent":
        took = seconds_between(block.event.timestamp, result.timestamp)
        if took is not None:
            out.append("  " + short_duration(took), style="dim")
    return out


def short_path(path: str, limit: int = 28) -> str:
    """A long path by its last two parts (the file and its folder): the summary line keeps room for its counts."""
    if len(path) <= limit:
        return path
    parts = [p for p in path.split("/") if p]
    return "…/" + "/".join(parts[-2:]) if len(parts) > 2 else path


def tool_title(block: Block) -> Text:
    """What the call did, on one line: `$ command`, `edit app.py +3 −1`, or the tool and its summary."""
    tool = tool_name(block)
    action = _action(block)
    title = Text()
    change = file_change(block)
    summary = render.one_line(getattr(block.event, "summary", "") or "", 80)
    if change is not None:
        verb = {"create": "create", "str_replace": "edit", "insert": "insert", "undo_edit": "undo"}.get(
            change.command, change.command or "edit"
        )
        title.append(f"{verb} ", style="bold yellow")
        title.append(short_path(render.one_line(change.path, 200)) or "(no path)", style="bold")
        if change.lines or change.new_text is not None:
            title.append("  ")
            title.append(f"+{change.added}", style="green")
            if not change.created:
                title.append(f" \u2212{change.removed}", style="red")
        return title
    command = action.get("command")
    if tool in SHELL_TOOLS and isinstance(command, str):
        title.append("$ ", style="bold yellow")
        title.append(render.one_line(command, 100), style="bold")
        if summary and summary != render.one_line(command, 80):
            title.append("  " + summary, style="dim")
        return title
    title.append(tool, style="bold yellow")
    if isinstance(block.event, protocol.ActionEvent):
        detail = summary or render.one_line(render.action_parts(block.event)[2], 100)
    else:
        detail = render.one_line(result_text(block).plain, 100)
    if detail:
        title.append("  " + detail)
    return title


def tool_line_parts(block: Block, expanded: bool, frame: int = 0) -> tuple[Text, Text]:
    """(what the call did, its status): the summary line of a tool block."""
    left = Text()
    left.append("▾ " if expanded else "▸ ", style="dim")
    left.append_text(tool_title(block))
    status = Text()
    if block.risk:
        status.append(f"risk {block.risk}  ", style="bold red")
    status.append_text(tool_status(block, frame))
    return left, status


def tool_line(block: Block, expanded: bool, frame: int = 0) -> Text:
    left, status = tool_line_parts(block, expanded, frame)
    return Text.assemble(left, "  ", status) if status.plain else left


def tool_detail(block: Block) -> list[RenderableType]:
    parts: list[RenderableType] = []
    tool = tool_name(block)
    action = _action(block)
    change = file_change(block)
    if change is not None:
        lexer = lexer_for(change.path)
        full = render.one_line(change.path, 400)
        if short_path(full) != full:
            parts.append(Text(full, style="dim"))
        if change.new_text is not None:
            parts.append(code_view(render.clean(change.new_text), lexer, numbers=True))
        elif change.lines:
            parts.append(diff_view(change, lexer))
        out = result_text(block)
        if is_error(block) or (block.result is not None and not change.lines and change.new_text is None):
            parts.append(Text(out.plain, style="red" if is_error(block) else "dim"))
        return parts
    command = action.get("command")
    if tool in SHELL_TOOLS and isinstance(command, str):
        if "\n" in command.strip() or len(command) > 20:  # a short one-line command is in the summary line
            parts.append(code_view(render.clean(command), "bash"))
    elif action:
        args = {k: v for k, v in action.items() if k != "kind"}
        if args:
            parts.append(code_view(render.clean(json_text(args, indent=2, sort_keys=True)), "json"))
    shell = tool in SHELL_TOOLS
    out = result_text(block, colours=shell)
    if out.plain:
        if is_error(block) and not out.style and not shell:  # terminal output keeps its own colours
            out.stylize("red")
        # A terminal's lines are cropped with a mark, never wrapped (an 80-column rule stays one line).
        parts.append(CroppedLines(list(out.split("\n", allow_blank=True))) if shell else out)
    return parts


def detail_lines(block: Block) -> int:
    """How many lines the tool block's detail takes (to decide whether it starts folded)."""
    if "lines" not in block.cache:
        block.cache["lines"] = _detail_lines(block)
    count: int = block.cache["lines"]
    return count


def _detail_lines(block: Block) -> int:
    change = file_change(block)
    if change is not None:
        return len(change.lines) if change.new_text is None else change.added
    count = 0
    command = _action(block).get("command")
    if isinstance(command, str):
        count += command.count("\n") + 1
    elif _action(block):
        count += len(_action(block))
    text = result_text(block).plain
    if text:
        count += text.count("\n") + 1
    return count


def default_expanded(block: Block) -> bool:
    if block.kind == "tool":
        change = file_change(block)
        return detail_lines(block) <= (DIFF_FOLD_AT if change is not None else FOLD_AT)
    if block.kind == "reasoning":
        return False
    if block.kind == "error":
        return block.text.count("\n") < 6
    return True


# ---------------------------------------------------------------- the other blocks


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


TASK_GLYPH = {"done": ("✓", "green"), "in_progress": ("◐", "bold yellow"), "todo": ("○", "dim")}


def plan_view(block: Block, expanded: bool) -> RenderableType:
    tasks = block.tasks
    done = sum(1 for t in tasks if t.get("status") == "done")
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append("▾ " if expanded else "▸ ", style="dim")
    head.append("plan", style="bold magenta")
    head.append(f"  {done}/{len(tasks)} done", style="dim")
    if block.updates > 1:
        head.append(f"  (updated {block.updates - 1}×)", style="dim")
    if not expanded:
        return head
    rows: list[RenderableType] = [head]
    for task in tasks:
        status = task.get("status") if isinstance(task.get("status"), str) else "todo"
        glyph, style = TASK_GLYPH.get(str(status), ("·", "dim"))
        line = Text("  ")
        line.append(glyph + " ", style=style)
        title = render.one_line(task.get("title"), 200)
        line.append(title, style="dim strike" if status == "done" else ("bold" if status == "in_progress" else ""))
        notes = render.one_line(task.get("notes"), 200)
        if notes:
            line.append("  " + notes, style="dim")
        rows.append(line)
    return Group(*rows)


def reasoning_view(block: Block, expanded: bool) -> RenderableType:
    text = render.clean(block.text).strip()
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append("▾ " if expanded else "▸ ", style="dim")
    head.append("thinking", style="dim italic bold")
    if not expanded:
        head.append("  " + render.one_line(text, 200), style="dim italic")
        return head
    return Group(head, Text(text, style="dim italic"))


def message_view(head: str, body: str, *, expanded: bool, markdown: Any) -> RenderableType:
    title = Text(head, style="bold")
    if not expanded:
        lines = body.split("\n")
        if len(lines) > 60:
            more = Text(f"… {len(lines) - 60} more lines (enter to expand)", style="dim italic")
            return Group(title, markdown("\n".join(lines[:60])), more)
    return Group(title, markdown(body))


def error_view(block: Block, expanded: bool) -> RenderableType:
    """An error block, or the error a turn's footer carries (`block.result`)."""
    event = block.result if block.kind == "footer" and block.result is not None else block.event
    label = "✗ agent error" if isinstance(event, protocol.AgentErrorEvent) else "✗ conversation error"
    head = Text(label, style="bold red")
    if isinstance(event, protocol.AgentErrorEvent) and event.tool_name:
        head.append(f" in {render.clean(event.tool_name)}", style="red")
    if isinstance(event, protocol.ConversationErrorEvent) and event.code:
        head.append(f" {render.clean(event.code)}", style="red")
    if block.count > 1:
        head.append(f"  ×{block.count}", style="bold red reverse")
    cls = render.classification_text(getattr(event, "classification", None))
    if cls:
        head.append(f"  [{cls}]", style="dim")
    body = block.text
    if not body or body == event.kind:
        return head
    shown = body if expanded else render.fold(body)[0]
    return Group(head, Text(shown, style="red"))


def footer_text(block: Block) -> Text:
    status = block.status
    text = Text()
    if block.interrupted:
        text.append("■ interrupted by you", style="bold yellow")
    elif status is ExecutionStatus.PAUSED:
        text.append("‖ paused" + (" by you" if block.paused_by_user else ""), style="bold yellow")
    else:
        glyph = render.STATUS_GLYPH.get(status, "·")
        text.append(f"{glyph} {render.status_label(status)}", style=render.STATUS_STYLE.get(status, "dim"))
    bits: list[str] = []
    if block.seconds is not None:
        bits.append(short_duration(block.seconds))
    usage = block.usage
    if usage is not None and usage.cost:
        bits.append(render.cost(usage.cost))
    if usage is not None and usage.total_tokens:
        bits.append(f"{render.tokens(usage.total_tokens)} tokens")
    if block.tools:
        bits.append(_plural(block.tools, "tool call"))
    if bits:
        text.append("  " + " · ".join(bits), style="dim")
    return text


def footer_view(block: Block, expanded: bool = True) -> RenderableType:
    rule = Rule(footer_text(block), align="left", style="dim", characters="─")
    if block.result is not None:  # the error that ended the turn, under its footer
        return Group(rule, error_view(block, expanded))
    return rule


def note_view(block: Block) -> RenderableType:
    if block.event.kind == "InterruptEvent" or block.interrupted:
        return Text("■ interrupted by you", style="bold yellow")
    if block.event.kind == "PauseEvent":
        return Text("‖ paused by you", style="bold yellow")
    return render.event_text(block.event)


def status_view(block: Block) -> RenderableType:
    status = block.status
    label = (
        render.status_label(status)
        if status is not ExecutionStatus.UNKNOWN
        else render.one_line(getattr(block.event, "value", ""), 40)
    )
    return Rule(Text(label, style=render.STATUS_STYLE.get(status, "dim")), align="left", style="dim")


# ---------------------------------------------------------------- entry points


def message_head(block: Block) -> str:
    event = block.event
    if isinstance(event, protocol.MessageEvent):
        role = render.message_role(event)
        return "you" if role == "user" else role
    return "agent"


def message_source(block: Block) -> str:
    if block.kind == "answer":
        return render.clean(block.text)
    event = block.event
    return render.message_body(event) if isinstance(event, protocol.MessageEvent) else ""


def renderable(block: Block, expanded: bool, *, markdown: Any, frame: int = 0) -> RenderableType:
    """The block as shown. `markdown(body)` renders a message body (the widget chooses the renderer)."""
    kind = block.kind
    if kind in ("message", "answer"):
        return message_view(message_head(block), message_source(block), expanded=expanded, markdown=markdown)
    if kind == "tool":
        line = SummaryLine(*tool_line_parts(block, expanded, frame))
        if not expanded:
            return line
        detail = tool_detail(block)
        return Group(line, *detail) if detail else line
    if kind == "plan":
        return plan_view(block, expanded)
    if kind == "reasoning":
        return reasoning_view(block, expanded)
    if kind == "error":
        return error_view(block, expanded)
    if kind == "footer":
        return footer_view(block, expanded)
    if kind == "status":
        return status_view(block)
    return note_view(block)


def plain(block: Block) -> str:
    """Everything the block holds, as plain text (search, copy-all, tests)."""
    kind = block.kind
    if kind in ("message", "answer"):
        return message_source(block)
    if kind == "tool":
        parts = [tool_line(block, True).plain]
        change = file_change(block)
        if change is not None:
            parts.append(render.clean(change.path))
            parts.append(change.new_text if change.new_text is not None else "\n".join(change.lines))
        else:
            command = _action(block).get("command")
            if isinstance(command, str):
                parts.append(render.clean(command))
            elif isinstance(block.event, protocol.ActionEvent):
                parts.append(render.action_parts(block.event)[2])
        parts.append(result_text(block).plain)
        return "\n".join(p for p in parts if p)
    if kind == "plan":
        return "\n".join(
            [plan_view(block, False).plain]  # type: ignore[union-attr]
            + [f"{t.get('status', '')}: {render.one_line(t.get('title'), 200)}" for t in block.tasks]
        )
    if kind == "reasoning":
        return "thinking: " + render.clean(block.text)
    if kind == "error":
        view = error_view(block, True)
        return "\n".join(
            r.plain for r in (view.renderables if isinstance(view, Group) else [view]) if isinstance(r, Text)
        )
    if kind == "footer":
        if block.result is not None:
            view = error_view(block, True)
            lines = [footer_text(block).plain]
            for part in view.renderables if isinstance(view, Group) else [view]:
                if isinstance(part, Text):
                    lines.append(part.plain)
            return "\n".join(lines)
        return footer_text(block).plain
    if kind == "status":
        return render.status_label(block.status)
    view = note_view(block)
    return view.plain if isinstance(view, Text) else ""


def copy_text(block: Block) -> str:
    """What the copy key puts on the clipboard."""
    kind = block.kind
    if kind in ("message", "answer"):
        return message_source(block)
    if kind == "tool":
        change = file_change(block)
        if change is not None:
            return change.new_text if change.new_text is not None else "\n".join(change.lines)
        command = _action(block).get("command")
        if isinstance(command, str):
            return render.clean(command)
        if isinstance(block.event, protocol.ActionEvent):
            tool, summary, command_text, thought = render.action_parts(block.event)
            return command_text or summary or thought or tool
        return result_text(block).plain
    if kind == "reasoning":
        return render.clean(block.text)
    return plain(block)


def plain_all(blocks: Iterable[Block]) -> str:
    return "\n".join(plain(b) for b in blocks)
