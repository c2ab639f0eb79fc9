"""The Textual layer: the only place that imports Textual."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.config import Preferences
    from tui.session import Fleet


def run_app(
    fleet: Fleet | Callable[[], Fleet],
    preferences: Preferences | None = None,
    *,
    servers: Iterable[tuple[str, bool]] = (),
    **options: Any,
) -> int:
    """Run the TUI on this fleet until the user quits. `fleet` may be a factory: the first frame then shows
    `servers` (name, embedded) connecting, and the factory runs (in a thread) after it. `options`: `state_dir`
    (where the user was is kept), `open_id` (a conversation id or unique prefix to open), `continue_last`
    (reopen the last one). Returns the process exit code: non-zero when the app ended on an unhandled error."""
    from .app import OpenHandsApp

    if callable(fleet):
        app = OpenHandsApp(fleet_factory=fleet, servers=servers, preferences=preferences, **options)
    else:
        app = OpenHandsApp(fleet, preferences=preferences, **options)
    app.run()
    return app.return_code or 0


__all__ = ["run_app"]
