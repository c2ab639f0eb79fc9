"""The review model (no Textual): hunks computed from whole files, numbered in the right file; the message a
comment on a line becomes; why an older server shows nothing."""

from __future__ import annotations

from tui.protocol import ServerInfo
from tui.session.review import LineKind, comment_message, diff_lines, unsupported_reason


def test_hunks_from_whole_files_with_line_numbers_and_context():
    original = "\n".join(f"line {n}" for n in range(1, 21))
    modified = original.replace("line 10", "line ten").replace("line 20", "line 20\nline 21")
    lines = diff_lines(original, modified)
    hunks = [line.text for line in lines if line.kind is LineKind.HUNK]
    assert hunks == ["@@ -7,7 +7,7 @@", "@@ -18,3 +18,4 @@"], "two hunks, three lines of context each"
    removed = [(line.old, line.text) for line in lines if line.kind is LineKind.REMOVED]
    added = [(line.new, line.text) for line in lines if line.kind is LineKind.ADDED]
    assert removed == [(10, "line 10")]
    assert added == [(10, "line ten"), (21, "line 21")]
    context = next(line for line in lines if line.kind is LineKind.CONTEXT and line.text == "line 18")
    assert (context.old, context.new) == (18, 18)


def test_a_new_file_is_all_added():
    lines = diff_lines("", "a\nb")
    assert [(line.kind, line.new) for line in lines[1:]] == [(LineKind.ADDED, 1), (LineKind.ADDED, 2)]
    assert lines[0].text == "@@ -1,0 +1,2 @@"


def test_a_comment_quotes_the_file_and_the_line():
    line = diff_lines("x = 1", "x = 2")[-1]
    assert comment_message("src/app.py", line, " use a constant ") == ("About src/app.py:1:\n> x = 2\n\nuse a constant")
    removed = diff_lines("x = 1", "x = 2")[1]
    assert "src/app.py:1 (a removed line)" in comment_message("src/app.py", removed, "why?")


def test_older_servers_say_why_there_is_nothing():
    old = ServerInfo(version="1.43.1")
    assert "no git routes" in (unsupported_reason(old) or "")
    assert unsupported_reason(ServerInfo(version="1.58.2", capabilities=["conversation_runtime_routes_v1"])) is None
