"""Scenario words: what the scripted agent does for a user message.

A message picks its behaviour with a bracket tag (``[text]``, ``[finish]``, ``[bash]``, ``[slow]``,
``[slowbash]`` — the tags of the recorded transcripts) or with plain words (``slow``, ``markdown``,
``tool``, ``huge``, ``error``, ``stuck``, ``confirm``, ``flood 500``, ``help``…). A bracket tag wins
over plain words. The answer is a *plan*: the steps the fake LLM will take, one LLM call per step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Reply:
    """The LLM answers with text; ends the turn."""

    text: str
    slow: bool = False


@dataclass
class ToolCall:
    """The LLM calls the (made-up) terminal tool."""

    command: str
    output: str
    summary: str
    slow: bool = False  # takes ``slow_seconds`` to run
    confirm: bool = False  # asks for confirmation whatever the policy


@dataclass
class Finish:
    """The LLM calls ``finish``; ends the turn."""

    message: str


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
    for word in ("error", "stuck", "confirm", "huge"):
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
        return [Reply(" ".join(f"word{i}" for i in range(SLOW_ANSWER_WORDS)), slow=True)]
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
