"""Server text is data: strip terminal escape and control sequences before it reaches a screen or a file.

A lone carriage return becomes a newline. Removes CSI (`ESC [ ...`), OSC (`ESC ] ... BEL|ST`, e.g. OSC 52 clipboard writes and OSC 8 links), DCS/SOS/PM/APC
strings, other two-byte escapes, their 8-bit C1 forms, and every C0/C1 control except newline and tab (a lone carriage return becomes a newline).
Rich markup is not touched here: it is harmless as long as text is shown with `rich.text.Text`, never parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SEQUENCES = re.compile(
    r"""
    (?:\x1b\]|\x9d) .*? (?:\x07|\x1b\\|\x9c|$)          # OSC ... BEL or ST (or unterminated)
  | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]) .*? (?:\x1b\\|\x9c|$)  # DCS, SOS, PM, APC strings
  | (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]?               # CSI
  | \x1b [ -/]* [0-~]?                                 # other escapes (and a lone ESC)
    """,
    re.VERBOSE | re.DOTALL,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """Return `text` with escape sequences and control characters removed (newlines and tabs kept)."""
    if not text:
        return ""
    text = _SEQUENCES.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def one_line(text: str, limit: int = 200) -> str:
    """A single safe line: controls stripped, whitespace folded, cut with an ellipsis."""
    flat = " ".join(strip_control(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f]")


def json_text(value: Any, **options: Any) -> str:
    """JSON that is safe on a terminal: the data is kept exactly, but DEL and C1 controls (which JSON would
    write raw) are written as \\u escapes, so no byte of it can start an escape sequence."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
