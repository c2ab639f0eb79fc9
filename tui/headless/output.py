"""The one way the verbs write to the terminal: server text is data.

Every string that reaches standard output or standard error goes through `tui.sanitize` here (escape and
control sequences stripped, JSON written terminal-safe) and has the servers' session keys masked, so no verb
ever prints server text directly. A closed standard output (`list | head`) raises `OutputClosed`, which ends
the verb quietly.
"""

from __future__ import annotations

import sys
from typing import Any

from tui.sanitize import json_text, register_secret, strip_control

PROG = "openhands-tui"


class OutputClosed(Exception):
    """Standard output was closed by its reader: stop writing, end quietly."""


def set_secrets(secrets: tuple[str, ...]) -> None:
    """Keys that must never be printed, even when a server echoes them back (the sanitiser masks them)."""
    for secret in secrets:
        register_secret(secret)


def clean(text: str) -> str:
    """Terminal-safe text (newlines and tabs kept), with known keys masked."""
    return strip_control(str(text))


def _write(stream: Any, text: str, *, flush: bool = True) -> None:
    try:
        stream.write(text)
        if flush:
            stream.flush()
    except BrokenPipeError:
        if stream is sys.stderr:
            return
        raise OutputClosed from None


def say(text: str = "", *, flush: bool = True) -> None:
    """One line (or several) on standard output (`flush=False` for a burst, then `flush()`)."""
    _write(sys.stdout, clean(text) + "\n", flush=flush)


def say_json(value: Any, *, indent: int | None = None, flush: bool = True) -> None:
    """A JSON value on standard output (one line unless `indent`)."""
    _write(sys.stdout, json_text(value, indent=indent) + "\n", flush=flush)


def flush() -> None:
    """Hand what was written to the reader (after a burst written with `flush=False`)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed from None


def write_raw(text: str) -> None:
    """A block of text that is already a rendering of server data (an export): still sanitised here."""
    text = clean(text)
    _write(sys.stdout, text if text.endswith("\n") else text + "\n")


def warn(message: str) -> None:
    """A one-line message on standard error, prefixed with the program's name."""
    _write(sys.stderr, f"{PROG}: {' '.join(clean(message).split())}\n")


def note(text: str) -> None:
    """Information for the person running a script (ids, statuses) on standard error, unprefixed."""
    _write(sys.stderr, clean(text) + "\n")
