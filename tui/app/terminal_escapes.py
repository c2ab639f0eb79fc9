"""Escape sequences that reach the user's own terminal, also over SSH and through tmux: desktop notifications
(OSC 9 and OSC 777) and the clipboard (OSC 52). No Textual here; the app writes them to its driver.

Only sanitised text goes into a sequence: server text could otherwise end the sequence early and smuggle its
own escapes to the terminal. Inside tmux (`TMUX` set) each sequence is also sent wrapped in tmux's passthrough
(`ESC P tmux; … ESC \\`, every ESC doubled), so it reaches the outer terminal (tmux needs `allow-passthrough on`).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from tui.sanitize import one_line

BEL = "\x07"


def _field(text: str, limit: int) -> str:
    # one_line strips escapes and control characters; `;` separates OSC 777's fields.
    return one_line(text, limit).replace(";", ",")


def tmux_passthrough(sequence: str) -> str:
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def in_tmux(env: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if env is None else env).get("TMUX"))


def with_passthrough(sequence: str, tmux: bool) -> str:
    """The sequence, and inside tmux its passthrough form too (a tmux without passthrough drops that one)."""
    return sequence + tmux_passthrough(sequence) if tmux else sequence


def desktop_notification(title: str, body: str, *, tmux: bool) -> str:
    """OSC 9 (iTerm2, WezTerm, kitty, Windows Terminal…) and OSC 777 (rxvt, foot, Ghostty, VTE…)."""
    title, body = _field(title, 80), _field(body, 200)
    osc9 = f"\x1b]9;{title}: {body}{BEL}"
    osc777 = f"\x1b]777;notify;{title};{body}{BEL}"
    return with_passthrough(osc9, tmux) + with_passthrough(osc777, tmux)


def clipboard(text: str, *, tmux: bool) -> str:
    """OSC 52 (the plain form is Textual's own; this is the passthrough one for tmux)."""
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    sequence = f"\x1b]52;c;{encoded}{BEL}"
    return tmux_passthrough(sequence) if tmux else ""


__all__ = ["clipboard", "desktop_notification", "in_tmux", "tmux_passthrough", "with_passthrough"]
