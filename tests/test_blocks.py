"""The conversation view's blocks from recorded events: pairing, diffs, plans, footers, errors, code that keeps its
indentation; and the fold state kept across remounts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from tests.snapshot_apps.blocks import BlocksApp, after, errors_scene, recorded, terminal, tool_scene
from tests.test_fuzz import FUZZ, event_like
from tui.app import blocks
from tui.app.diffs import file_change
from tui.app.transcript import Transcript, build
from tui.protocol import ExecutionStatus, parse_event


def _draw(renderable, width: int = 80) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_one_block_per_tool_call_and_the_finish_message_once():
    shown = build(recorded("file_edit"))
    kinds = [b.kind for b in shown]
    assert kinds.count("tool") == 3, kinds  # create, str_replace, the terminal run: each with its observation
    assert all(b.result is not None for b in shown if b.kind == "tool")
    text = blocks.plain_all(shown)
    answer = "Created hello.py, switched it to an f-string, and ran it: Hello, world!"
    assert text.count(answer) == 1 and "finish:" not in text and '{"message"' not in text
    assert kinds.count("footer") == 1 and "status" not in kinds  # no separate finished / idle dividers


def test_an_observation_arriving_later_changes_its_block_in_place():
    events = recorded("file_edit")
    transcript = Transcript()
    action_at = next(i for i, e in enumerate(events) if e.kind == "ActionEvent")
    new, _ = transcript.add(events[: action_at + 1])
    tool = new[-1]
    assert tool.kind == "tool" and tool.result is None and "running" in blocks.tool_line(tool, False).plain
    new, changed = transcript.add(events[action_at + 1 : action_at + 2])
    assert not new and changed == [tool] and tool.result is not None


def test_edits_become_unified_diffs_with_counts():
    shown = build(recorded("file_edit"))
    create, edit = [b for b in shown if b.kind == "tool"][:2]
    created = blocks.file_change(create)
    assert created is not None and created.created and created.added == 5
    assert "+5" in blocks.tool_line(create, False).plain
    change = blocks.file_change(edit)
    assert change is not None and (change.added, change.removed) == (1, 1)
    assert "+1 \u22121" in blocks.tool_line(edit, False).plain
    drawn = _draw(blocks.renderable(edit, True, markdown=str), 80)
    assert '-     return "Hello, " + name' in drawn and '+     return f"Hello, {name}!"' in drawn
    # From the action's arguments alone (no old/new content in the observation): still a diff.
    only_args = file_change(
        "file_editor", {"command": "str_replace", "path": "a.py", "old_str": "x = 1", "new_str": "x = 2"}
    )
    assert only_args is not None and only_args.lines[-2:] == ["-x = 1", "+x = 2"]
    inserted = file_change("file_editor", {"command": "insert", "path": "a.py", "insert_line": 3, "new_str": "y\nz"})
    assert inserted is not None and inserted.added == 2 and inserted.lines[0].startswith("@@ -3,0 +4,2")
    written = file_change("write_file", {"path": "b.txt", "content": "hi\n"})
    assert written is not None and written.created and written.new_text == "hi\n"


def test_the_plan_is_one_block_updated_in_place():
    events = recorded("plan")
    transcript = Transcript()
    transcript.add(events)
    plans = [b for b in transcript.blocks if b.kind == "plan"]
    assert len(plans) == 1 and [t["status"] for t in plans[0].tasks] == ["done", "in_progress", "todo"]
    update = events[[e.kind for e in events].index("ActionEvent")].to_wire()
    update = {**update, "id": "later", "tool_call_id": "call_later"}
    update["action"] = {
        **update["action"],
        "task_list": [{**t, "status": "done"} for t in update["action"]["task_list"]],
    }

    new, changed = transcript.add([parse_event(update)])
    assert not new and changed == plans and all(t["status"] == "done" for t in plans[0].tasks)
    assert "3/3 done" in blocks.plain(plans[0])


def test_reasoning_is_its_own_folded_block():
    shown = build(after(recorded("think"), "(not streamed)"))
    reasoning = [b for b in shown if b.kind == "reasoning"]
    assert len(reasoning) == 1 and "forty-two" in reasoning[0].text
    assert not blocks.default_expanded(reasoning[0])


def test_turn_footer_and_merged_errors_and_interrupted_by_you():
    footer = next(b for b in build(recorded("file_edit")) if b.kind == "footer")
    assert footer.status is ExecutionStatus.FINISHED and footer.tools == 3
    assert footer.seconds is not None and 0 < footer.seconds < 5 and footer.usage is not None
    assert footer.usage.total_tokens > 0
    errors = [b for b in build(errors_scene()) if b.kind == "error"]
    assert len(errors) == 1 and errors[0].count == 3 and "×3" in blocks.plain(errors[0])
    interrupted = build(after(recorded("interrupt"), "[slowbash]"))
    text = blocks.plain_all(interrupted)
    assert "interrupted by you" in text and "agent error" not in text
    tool = next(b for b in interrupted if b.kind == "tool")
    assert tool.interrupted and not blocks.is_error(tool)


def test_long_output_starts_folded_short_output_open():
    tools = [b for b in build(tool_scene()) if b.kind == "tool"]
    assert not blocks.default_expanded(tools[0]) and blocks.default_expanded(tools[1])


def test_code_blocks_keep_their_indentation_and_are_cropped_with_a_mark():
    body = (
        "Here:\n\n```python\ndef f():\n    return 'a very long line that does not fit in forty columns at all'\n```\n"
    )
    drawn = _draw(blocks.ViewMarkdown(body), 40)
    lines = [line for line in drawn.splitlines() if "return" in line]
    assert len(lines) == 1, drawn  # not wrapped
    assert lines[0].startswith("    return") and lines[0].rstrip().endswith(blocks.CROP_MARK)


def test_terminal_lines_are_cropped_with_a_mark_not_wrapped_and_keep_their_colours():
    rule = "\x1b[32m" + "=" * 30 + " 3 passed in 0.01s " + "=" * 31 + "\x1b[0m"  # pytest's 80-column last line
    events = [
        *terminal(1, 1.0, "python -m pytest -q", f"...\n{rule}", 0, 0.5),
    ]
    tool = next(b for b in build(events) if b.kind == "tool")
    console = Console(width=60, record=True, file=open("/dev/null", "w"), color_system="truecolor")
    console.print(blocks.renderable(tool, True, markdown=str))
    drawn = console.export_text(clear=False)
    rules = [line for line in drawn.splitlines() if "=====" in line]
    assert len(rules) == 1, drawn  # one row, not two
    assert rules[0].startswith("=" * 30 + " 3 passed") and rules[0].rstrip().endswith(blocks.CROP_MARK)
    assert "passed" not in drawn.replace(rules[0], "")  # nothing of it wrapped onto a second row
    assert "\x1b[32m=" in console.export_text(styles=True)  # still green


async def test_fold_state_survives_remounting():
    app = BlocksApp("tool")
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.log_view
        await pilot.pause()
        item = next(i for i in log._event_items() if "pytest" in i.plain)
        assert not item.expanded
        item.toggle()
        await log.show(tool_scene())  # everything unmounted and mounted again
        await pilot.pause()
        again = next(i for i in log._event_items() if "pytest" in i.plain)
        assert again is not item and again.expanded


def test_errors_reported_after_the_status_go_under_the_turns_footer_merged():
    """The embedded server (like the real one) reports `error` before the error events themselves."""
    scene = errors_scene()
    status_last = scene[-1]
    reordered = [*scene[:2], status_last, *scene[2:-1]]
    shown = build(reordered)
    assert [b.kind for b in shown if b.kind in ("error", "footer")] == ["footer"]
    footer = shown[-1]
    assert footer.count == 3 and "×3" in blocks.plain(footer) and "connection refused" in blocks.plain(footer)


async def test_t_toggles_timestamps_on_every_block():
    app = BlocksApp("diff")
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.log_view
        await pilot.pause()
        stamp = "01:39:45"  # the recording's own times, as the server wrote them
        shown = lambda: any(stamp in _draw(i._renderable(), 100) for i in log._event_items())  # noqa: E731
        assert not shown()
        await pilot.press("t")
        await pilot.pause()
        assert shown() and log.timestamps
        await pilot.press("t")
        await pilot.pause()
        assert not shown()


# ---------------------------------------------------------------- garbage in: never a crash, never an escape

_paired = event_like.map(lambda d: {**d, "tool_call_id": "call_1", "action_id": "a1"} if isinstance(d, dict) else d)


@FUZZ
@given(st.lists(st.one_of(event_like, _paired), max_size=8))
def test_blocks_of_garbage_events_render_safely(values):
    shown = build(parse_event(v) for v in values)
    for block in shown:
        for expanded in (False, True):
            for width in (30, 80):
                drawn = _draw(blocks.renderable(block, expanded, markdown=blocks.ViewMarkdown), width)
                assert "\x1b" not in drawn and "\x07" not in drawn
        assert "\x1b" not in blocks.plain(block) + blocks.copy_text(block)


def test_a_terminal_call_without_summary_or_action_shows_its_command_not_json():
    # What a server may send for a call it did not turn into an action: only the LLM's tool call (JSON arguments).
    action = parse_event(
        {
            "kind": "ActionEvent",
            "id": "act-1",
            "timestamp": "2026-11-26T01:40:01.000",
            "source": "agent",
            "tool_name": "terminal",
            "tool_call_id": "call-1",
            "tool_call": {
                "id": "call-1",
                "name": "terminal",
                "arguments": '{"command": "ls -la /repo", "security_risk": "LOW"}',
            },
        }
    )
    tool = next(b for b in build([action]) if b.kind == "tool")
    line = blocks.tool_line(tool, False).plain
    assert "$ ls -la /repo" in line and "{" not in line and "security_risk" not in line, line
