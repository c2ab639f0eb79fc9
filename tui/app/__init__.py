"""The Textual layer: the only place that imports Textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.config import Preferences
    from tui.session import Fleet


def run_app(fleet: Fleet, preferences: Preferences | None = None) -> None:
    """Run the TUI on this fleet until the user quits (conversations keep running on their servers)."""
    from .app import OpenHandsApp

    OpenHandsApp(fleet, preferences=preferences).run()


__all__ = ["run_app"]
