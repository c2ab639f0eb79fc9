"""Scenario words: what the scripted agent does for a user message.

A message picks its behaviour with a bracket tag (``[text]``, ``[finish]``, ``[bash]``, ``[slow]``,
``[slowbash]`` — the tags of the recorded transcripts) or with plain words (``slow``, ``markdown``,
``tool``, ``huge``, ``error``, ``stuck``, ``confirm``, ``flood 500``, ``help``…). A bracket tag wins
over plain words. The answer is a *plan*: the steps the fake LLM will take, one LLM call per step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    """The LLM answers with text; ends the turn."""

    text: str
    slow: bool = False
    reasoning: str = ""  # streamed first as reasoning, kept in ``llm_message.reasoning_content``
    retry: bool = False  # the stream breaks half-way and the step streams again as attempt 2


@dataclass
class ToolCall:
    """The LLM calls a (made-up) tool: ``terminal`` by default, or ``file_editor`` / ``task_tracker``."""

    command: str
    output: str
    summary: str
    slow: bool = False  # takes ``slow_seconds`` to run
    confirm: bool = False  # asks for confirmation whatever the policy
    tool: str = "terminal"
    exit_code: int = 0
    risk: str = "LOW"  # the security_risk the LLM puts in the call
    thought: str = ""  # text the LLM writes before the call (streamed; the action's ``thought``)
    reasoning: str = ""
    edit: dict[str, Any] | None = None  # file_editor arguments, ``path`` relative to the working dir
    tasks: list[dict[str, str]] | None = None  # task_tracker plan
    child: tuple[str, str] | None = None  # start_child_conversation: (task, title)


@dataclass
class Finish:
    """The LLM calls ``finish``; ends the turn."""

    message: str
    thought: str = ""
    slow: bool = False


@dataclass
class Fail:
    """The LLM call fails (LLMServiceUnavailableError)."""


@dataclass
class Stuck:
    """The stuck detector fires."""


@dataclass
class Flood:
    """Emit ``count`` events as fast as possible (ingest benchmark)."""

    count: int


Step = Reply | ToolCall | Finish | Fail | Stuck | Flood

TEXT_ANSWER = "Hello from the demo agent. This is a plain text answer."
DEFAULT_ANSWER = (
    "Hi! I am the scripted demo agent: no language model and nothing runs on your machine. "
    "Send 'help' to see the words that pick what I do."
)
NO_MESSAGE_ANSWER = "OK (default demo answer)."
AFTER_REJECT_ANSWER = "Understood: I did not run that command."
SLOW_ANSWER_WORDS = 20

HELP_TEXT = """Scenario words (put them anywhere in your message; a [tag] wins over plain words):

- text / [text]: a short plain answer
- finish / [finish]: the agent calls the finish tool
- bash / tool / [bash]: a terminal tool call (echo hello), then finish
- slowbash / slow tool / [slowbash]: a slow tool (sleep), then finish
- slow / [slow]: a slow LLM reply (streams slowly if streaming is on)
- markdown / long: a long markdown answer with headings, lists and a code block
- huge: a tool call with a huge output (5,000 lines)
- error: the LLM call fails (status error)
- stuck: the agent repeats itself until the stuck detector fires
- confirm: the agent asks for confirmation before running a command
- flood N: emit N events as fast as possible
- code: a whole coding session in one turn (plan, reasoning, file edits, a failing then passing test run)
- edit: create a file, edit it, run it
- plan: the agent records a task plan
- think: an answer with visible reasoning
- retry: a streamed reply the provider retries half-way (a second attempt replaces the first)
- child: the agent starts two child conversations (a tree in the list)
- risk: a high-risk command (waits for confirmation when the conversation asks for risky actions)
- help: this list

Anything else gets a short friendly answer."""

MARKDOWN_ANSWER = """# Demo report

This is a **long markdown answer** from the scripted demo agent. Nothing here was computed:
it exists so you can see how headings, lists, tables and code render while tokens stream in.

## What was checked

1. The workspace layout looks like a Python project.
2. The tests live under `tests/` and use pytest.
3. The entry point is a small command line tool.

## Findings

- Configuration is read from environment variables first, then from a file.
- Logging goes to standard error, which keeps standard output clean for scripts.
- Two helper functions do almost the same thing and could be merged.

### Suggested change

```python
def load_settings(path: str | None = None) -> dict[str, str]:
    \"\"\"Read settings from the environment, then from an optional file.\"\"\"
    settings = {k[4:].lower(): v for k, v in os.environ.items() if k.startswith("APP_")}
    if path is not None:
        with open(path) as fh:
            for line in fh:
                key, _, value = line.partition("=")
                settings.setdefault(key.strip(), value.strip())
    return settings
```

| Step | Status |
|------|--------|
| Read the code | done |
| Write the patch | proposed |
| Run the tests | not run (demo) |

## Next steps

- Review the suggested change.
- Ask me for `bash` to see a tool call, or `slow` for a slow reply.

That is all for this demo answer."""

_TAG = re.compile(r"\[([a-z]+)\]", re.IGNORECASE)
_FLOOD = re.compile(r"\bflood\s+(\d+)\b", re.IGNORECASE)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def scenario_word(text: str) -> str:
    """The scenario a message picks: a bracket tag if any, else the strongest plain word."""
    for tag in _TAG.findall(text):
        tag = tag.lower()
        if tag in (
            "text",
            "finish",
            "bash",
            "slow",
            "slowbash",
            "markdown",
            "long",
            "huge",
            "error",
            "stuck",
            "confirm",
            "help",
            "tool",
            "flood",
            "code",
            "edit",
            "plan",
            "think",
            "risk",
            "slowfinish",
            "child",
            "retry",
        ):
            return {"tool": "bash", "long": "markdown"}.get(tag, tag)
    low = text.lower()
    words = _words(text)
    if "help" in words:
        return "help"
    if _FLOOD.search(text):
        return "flood"
    if "slowbash" in words or "slow tool" in low:
        return "slowbash"
    for word in ("error", "stuck", "confirm", "huge", "code", "edit", "plan", "think", "risk", "child", "retry"):
        if word in words:
            return word
    if "bash" in words or "tool" in words:
        return "bash"
    if "markdown" in words or "long" in words:
        return "markdown"
    if "slow" in words:
        return "slow"
    if "finish" in words:
        return "finish"
    if "text" in words:
        return "text"
    return "default"


def huge_output(lines: int = 5000) -> str:
    return "\n".join(f"line {i}: the quick brown fox jumps over the lazy dog" for i in range(1, lines + 1))


def plan_for(text: str) -> list[Step]:
    """The steps the fake LLM takes to answer ``text``."""
    word = scenario_word(text)
    if word == "text":
        return [Reply(TEXT_ANSWER)]
    if word == "finish":
        return [Finish("Done: the demo agent called finish.")]
    if word == "bash":
        return [ToolCall("echo hello", "hello", "say hello"), Finish("Ran echo hello; output was hello.")]
    if word == "slowbash":
        return [
            ToolCall("sleep 8 && echo done", "done", "run a slow command", slow=True),
            Finish("Slow command finished."),
        ]
    if word == "slow":
        return [Reply(_slow_words(), slow=True)]
    if word == "markdown":
        return [Reply(MARKDOWN_ANSWER)]
    if word == "huge":
        return [
            ToolCall("seq 1 5000 | sed 's/$/: the quick brown fox/'", huge_output(), "print a lot of lines"),
            Finish("Printed 5,000 lines."),
        ]
    if word == "error":
        return [Fail()]
    if word == "stuck":
        return [*[ToolCall("ls", "README.md", "list files")] * 3, Stuck()]
    if word == "confirm":
        return [
            ToolCall("rm -rf build && echo cleaned", "cleaned", "clean the build directory", confirm=True),
            Finish("Cleaned the build directory."),
        ]
    if word == "help":
        return [Reply(HELP_TEXT)]
    if word == "slowfinish":
        return [Finish("Done after a slow streamed answer.", thought=_slow_words(), slow=True)]
    if word == "think":
        return [Reply(THINK_ANSWER, reasoning=THINK_REASONING)]
    if word == "plan":
        return [
            ToolCall("plan", "", "plan three tasks", tool="task_tracker", tasks=PLAN_TASKS),
            Finish("Plan recorded: 3 tasks."),
        ]
    if word == "edit":
        return edit_session()
    if word == "retry":
        return [Reply(TEXT_ANSWER + " It was streamed twice: the first attempt broke half-way.", retry=True)]
    if word == "child":
        return [
            ToolCall(
                "child",
                "",
                "write the tests in a child",
                tool="start_child_conversation",
                child=("[edit] Write the tests", "Child: tests"),
            ),
            ToolCall(
                "child",
                "",
                "review in a child",
                tool="start_child_conversation",
                child=("[plan] Review the change", "Child: review"),
            ),
            Finish("Started two child conversations: one writes the tests, one reviews the change."),
        ]
    if word == "code":
        return coding_session()
    if word == "risk":
        return [
            ToolCall(
                "echo pretend-this-deletes-the-build-dir",
                "pretend-this-deletes-the-build-dir",
                "high-risk command (simulated)",
                risk="HIGH",
            ),
            Finish("Ran the high-risk command."),
        ]
    if word == "flood":
        match = _FLOOD.search(text)
        count = int(match.group(1)) if match else 1000
        return [Flood(count), Finish(f"Flooded {count} events.")]
    return [Reply(DEFAULT_ANSWER)]


def title_for(text: str) -> str:
    """A short auto-title from the first user message."""
    words = _TAG.sub("", text).split()
    title = " ".join(words[:6]).strip(" .,:;!?") or "New conversation"
    return title[:60]


def tokens(text: str) -> list[str]:
    """Split a reply into streaming deltas (a word with its leading whitespace)."""
    return re.findall(r"\s*\S+", text) or [text]


def _slow_words() -> str:
    return " ".join(f"word{i}" for i in range(SLOW_ANSWER_WORDS))


def reasoning_of(step: Step) -> str:
    return getattr(step, "reasoning", "") or ""


def streamed_text(step: Step) -> str:
    """What the LLM writes as text in this step: a reply, or the thought before a tool call."""
    if isinstance(step, Reply):
        return step.text
    return getattr(step, "thought", "") or ""


THINK_REASONING = "The user wants a short answer. Six times seven is forty-two, so I will answer 42."
THINK_ANSWER = "The answer is 42."

PLAN_TASKS = [
    {"title": "Read the failing test", "notes": "tests/test_app.py", "status": "done"},
    {"title": "Fix the off-by-one in paginate()", "notes": "", "status": "in_progress"},
    {"title": "Run the full test suite", "notes": "pytest -q", "status": "todo"},
]

HELLO_V1 = 'def greet(name):\n    return "Hello, " + name\n\n\nprint(greet("world"))\n'


def edit_session() -> list[Step]:
    """Create ``hello.py``, switch it to an f-string, run it (the recorded ``[edit]`` turn)."""
    return [
        ToolCall(
            "create",
            "",
            "create hello.py",
            tool="file_editor",
            edit={"command": "create", "path": "hello.py", "file_text": HELLO_V1},
        ),
        ToolCall(
            "str_replace",
            "",
            "use an f-string",
            tool="file_editor",
            edit={
                "command": "str_replace",
                "path": "hello.py",
                "old_str": '    return "Hello, " + name',
                "new_str": '    return f"Hello, {name}!"',
            },
        ),
        ToolCall("python3 hello.py", "Hello, world!", "run hello.py"),
        Finish("Created hello.py, switched it to an f-string, and ran it: Hello, world!"),
    ]


STATS_V1 = '''"""Small statistics helpers."""


def mean(values):
    return sum(values) / len(values)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle]
'''

TEST_STATS = """from stats import mean, median


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5


def test_median_odd():
    assert median([3, 1, 2]) == 2


def test_median_even():
    assert median([4, 1, 3, 2]) == 2.5
"""

PYTEST_FAILED = """============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0
rootdir: /workspace/project
collected 3 items

test_stats.py ..F                                                        [100%]

=================================== FAILURES ===================================
_______________________________ test_median_even _______________________________

    def test_median_even():
>       assert median([4, 1, 3, 2]) == 2.5
E       assert 3 == 2.5
E        +  where 3 = median([4, 1, 3, 2])

test_stats.py:13: AssertionError
=========================== short test summary info ============================
FAILED test_stats.py::test_median_even - assert 3 == 2.5
========================= 1 failed, 2 passed in 0.03s =========================="""

PYTEST_PASSED = """============================= test session starts ==============================
platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0
rootdir: /workspace/project
collected 3 items

test_stats.py ...                                                        [100%]

============================== 3 passed in 0.02s ==============================="""


def _tasks(*statuses: str) -> list[dict[str, str]]:
    titles = [
        ("Add a median() helper to stats.py", "keep mean() as it is"),
        ("Write tests for mean() and median()", "odd and even counts"),
        ("Run the test suite until it passes", "python -m pytest -q"),
    ]
    return [{"title": t, "notes": n, "status": s} for (t, n), s in zip(titles, statuses, strict=True)]


def coding_session() -> list[Step]:
    """A whole coding turn: plan, reasoning, two new files, a failing test run, two edits, a passing run."""
    return [
        ToolCall(
            "plan",
            "",
            "plan the work",
            tool="task_tracker",
            tasks=_tasks("in_progress", "todo", "todo"),
            reasoning=(
                "The user wants a median() helper with tests. I will plan three steps, write the code and the "
                "tests, then run pytest and fix whatever fails."
            ),
            thought="Let me plan this first.",
        ),
        ToolCall(
            "create",
            "",
            "create stats.py",
            tool="file_editor",
            edit={"command": "create", "path": "stats.py", "file_text": STATS_V1},
            thought="I'll start with the helpers module.",
        ),
        ToolCall(
            "create",
            "",
            "create test_stats.py",
            tool="file_editor",
            edit={"command": "create", "path": "test_stats.py", "file_text": TEST_STATS},
        ),
        ToolCall("plan", "", "tests written", tool="task_tracker", tasks=_tasks("done", "done", "in_progress")),
        ToolCall("python -m pytest -q", PYTEST_FAILED, "run the tests", exit_code=1),
        ToolCall(
            "str_replace",
            "",
            "average the two middle values",
            tool="file_editor",
            edit={
                "command": "str_replace",
                "path": "stats.py",
                "old_str": "    return ordered[middle]\n",
                "new_str": (
                    "    if len(ordered) % 2:\n"
                    "        return ordered[middle]\n"
                    "    return (ordered[middle - 1] + ordered[middle]) / 2\n"
                ),
            },
            reasoning="median() returns the upper middle value for an even count; it must average the two.",
            thought="The even case is wrong: it must average the two middle values.",
        ),
        ToolCall(
            "insert",
            "",
            "document median()",
            tool="file_editor",
            edit={
                "command": "insert",
                "path": "stats.py",
                "insert_line": 8,
                "new_str": '    """The middle value; for an even count, the mean of the two middle values."""',
            },
        ),
        ToolCall("python -m pytest -q", PYTEST_PASSED, "run the tests again"),
        ToolCall("plan", "", "all done", tool="task_tracker", tasks=_tasks("done", "done", "done")),
        Finish(
            "Added `median()` to `stats.py` with tests in `test_stats.py`. The first run failed for an even "
            "count (it returned the upper middle value); it now averages the two middle values and all 3 "
            "tests pass."
        ),
    ]
