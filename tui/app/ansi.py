"""Terminal output with its colours: SGR sequences become Rich styles, every other escape is removed.

The SGR sequences (`ESC [ params m`) are first swapped for private-use placeholders; `tui.sanitize.strip_control`
then removes every other sequence exactly as on the plain path (an OSC or DCS string swallows any placeholder
inside it); finally the placeholders become SGR again and `Text.from_ansi` turns them into styles. Only SGR ever
reaches the decoder, so no link, title, clipboard write or cursor move survives.
"""

from __future__ import annotations

import re

from rich.text import Text

from tui.sanitize import strip_control

_SGR = re.compile(r"(?:\x1b\[|\x9b)([0-9;:]{0,48})m")
_MARK = re.compile("\ue000([0-9]{1,6})\ue001")
_PRIVATE = re.compile("[\ue000\ue001]")


def has_sgr(text: str) -> bool:
    return "m" in text and _SGR.search(text) is not None


def ansi_text(text: str, style: str = "") -> Text:
    """`text` as a Rich `Text`: SGR colours kept as styles, every other escape and control stripped."""
    if not text:
        return Text("", style=style)
    if not has_sgr(text):
        return Text(strip_control(text), style=style)
    codes: list[str] = []

    def mark(match: re.Match[str]) -> str:
        codes.append(match.group(1))
        return f"\ue000{len(codes) - 1}\ue001"

    marked = _SGR.sub(mark, _PRIVATE.sub("", text))
    safe = strip_control(marked)
    restored = _MARK.sub(lambda m: f"\x1b[{codes[int(m.group(1))]}m" if int(m.group(1)) < len(codes) else "", safe)
    return Text.from_ansi(restored, style=style)
