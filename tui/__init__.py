"""openhands-tui: a terminal UI and headless verbs for OpenHands agent servers."""

from __future__ import annotations

import sys

# httpx imports its own command-line client (click, rich.syntax, pygments: ~25 ms before the first frame) whenever
# those happen to be installed; nothing here uses it. With the module marked absent httpx defines a stub instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__all__: list[str] = []
