"""The Textual layer: the only place that imports Textual."""

from __future__ import annotations

from typing import Any


def run_app(fleet: Any, preferences: Any = None) -> None:
    """Run the TUI on this fleet until the user quits (conversations keep running on their servers)."""
    from .app import OpenHandsApp

    OpenHandsApp(fleet, preferences=preferences).run()


__all__ = ["run_app"]
