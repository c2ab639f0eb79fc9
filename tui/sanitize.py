"""Server text is data: the one sanitiser every server string goes through before a screen, a clipboard or a file.

`strip_control` removes CSI (`ESC [ ...`), OSC (`ESC ] ... BEL|ST`, e.g. OSC 52 clipboard writes, OSC 0 titles,
OSC 8 links), DCS/SOS/PM/APC strings, other two-byte escapes, their 8-bit C1 forms, every C0/C1 control except
newline and tab (a lone carriage return becomes a newline), bidi overrides and isolates, zero-width characters
that hide text, and Unicode tag characters (except inside an emoji flag sequence); zero-width joiners stay, so
ZWJ emoji survive. It also masks every secret registered with `register_secret` (the session keys in use: a
server that echoes one back, e.g. an agent running `env`, never gets it onto the screen, the clipboard, `watch`,
`list` or an export). `one_line` and `json_text` apply the same rules.

Rich markup is not touched here: it is harmless as long as text is shown with `rich.text.Text`, never parsed.
Markdown is shown through `markdown()`, which never emits a terminal hyperlink (a link's target is shown next to
its text).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

__all__ = [
    "MASK",
    "SECRET_FIELDS",
    "json_text",
    "markdown",
    "mask_secrets",
    "one_line",
    "redact",
    "register_secret",
    "strip_control",
]

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
# Bidi embeddings/overrides/isolates and marks (reorder what is shown: "Trojan Source"), invisible characters that
# hide text or split words (zero-width space, word joiner, BOM, invisible operators, Mongolian vowel separator,
# soft hyphen, Hangul fillers). U+200D (ZWJ) is kept: emoji sequences need it.
_INVISIBLE = re.compile(r"[\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e\u00ad]")
# Tag characters (U+E0000..U+E007F) hide ASCII text; they are only legitimate inside an emoji flag sequence
# (U+1F3F4 followed by tags and the cancel tag U+E007F).
_TAGS = re.compile(r"(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")

MASK = "**********"
# JSON fields whose value is a secret whatever it looks like.
SECRET_FIELDS = frozenset(
    {
        "api_key",
        "session_api_key",
        "secret",
        "secrets",
        "aws_secret_access_key",
        "aws_session_token",
        "password",
        "token",
        "authorization",
    }
)

_secrets: tuple[str, ...] = ()
_secrets_lock = threading.Lock()
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


def register_secret(value: str | None) -> None:
    """Remember a key in use by this process: from now on every sanitised string has it masked."""
    global _secrets
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value not in _secrets:
            # Longest first, so a key that contains another is masked whole.
            _secrets = tuple(sorted((*_secrets, value), key=len, reverse=True))


def mask_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every registered secret (and every one in `secrets`) replaced by `MASK`."""
    for secret in (*secrets, *_secrets) if secrets else _secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def _drop_tags(match: re.Match[str]) -> str:
    return match.group(1) or ""


def strip_control(text: str) -> str:
    """`text` safe for a terminal: escape sequences, controls (newlines and tabs kept), bidi and invisible
    characters removed, registered secrets masked."""
    if not text:
        return ""
    text = _SEQUENCES.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    text = _INVISIBLE.sub("", text)
    if not text.isascii():
        text = _TAGS.sub(_drop_tags, text)
    return mask_secrets(text)


# What may not start a cut piece: it belongs to the character before it (a joiner, a variation selector, an
# emoji skin tone, a combining mark, a tag).
_CONTINUES = re.compile(r"[\u200d\ufe0e\ufe0f\u0300-\u036f\u20d0-\u20ff\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


def _cut(text: str, limit: int) -> str:
    """The first `limit - 1` characters and an ellipsis, never ending inside a ZWJ or combining sequence."""
    end = limit - 1
    while end > 0 and (_CONTINUES.match(text, end) or text[end - 1] == "\u200d"):
        end -= 1
    return text[:end] + "…"


def one_line(text: str, limit: int = 200) -> str:
    """A single safe line: sanitised, whitespace folded, cut with an ellipsis (never inside an emoji)."""
    flat = " ".join(strip_control(text).split())
    return flat if len(flat) <= limit else _cut(flat, limit)


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def json_text(value: Any, **options: Any) -> str:
    """JSON that is safe on a terminal: the data is kept exactly, but DEL, C1 controls and bidi/invisible
    characters (which JSON would write raw) are written as \\u escapes, so no byte of it can start an escape
    sequence or reorder a line; registered secrets are masked."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return mask_secrets(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def redact(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """A JSON-like value with secret fields masked and every known key (registered, or in `secrets`) masked in
    every string."""
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in SECRET_FIELDS and v not in (None, "", MASK) else redact(v, secrets))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        return mask_secrets(value, secrets)
    return value


def markdown(source: str, cls: Any = None, **options: Any) -> Any:
    """A Rich `Markdown` (or the subclass `cls`) of server text that cannot reach the terminal as anything but
    text: sanitised first, and rendered without terminal hyperlinks (a link shows its target after its text, so
    the visible text can never name another URL than the one it leads to)."""
    if cls is None:
        from rich.markdown import Markdown as cls

    options["hyperlinks"] = False
    return cls(strip_control(source), **options)
