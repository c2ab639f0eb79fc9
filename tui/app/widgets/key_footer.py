"""The footer of key bindings, without Textual's leak on every rebuild."""

from __future__ import annotations

from textual.widgets import Footer

from ..textual_private import drop_closed_watchers


class KeyFooter(Footer):
    """Textual's `Footer.compose` binds each `FooterKey` to the footer's `compact` reactive (`data_bind`), which
    adds the key to that reactive's watchers; the list is pruned only when `compact` changes, which it never does
    here. The footer is rebuilt whenever the enabled keys change (twice a turn), so every rebuild kept its old
    keys alive with their styles and render caches. Drop them after each rebuild."""

    async def recompose(self) -> None:
        await super().recompose()
        drop_closed_watchers(self)
