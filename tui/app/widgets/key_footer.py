"""The footer of key bindings, without Textual's leak on every rebuild, and without keys cut under the palette key."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Footer

from ..textual_private import drop_closed_watchers


class KeyFooter(Footer):
    """Textual's `Footer.compose` binds each `FooterKey` to the footer's `compact` reactive (`data_bind`), which
    adds the key to that reactive's watchers; the list is pruned only when `compact` changes, which it never does
    here. The footer is rebuilt whenever the enabled keys change (twice a turn), so every rebuild kept its old
    keys alive with their styles and render caches. Drop them after each rebuild.

    On a narrow terminal the keys run under the palette key docked at the right (one shows half, the palette
    key's border over it): the keys that do not fit whole before it are hidden instead (all of them still work,
    and the palette lists them)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._widths: dict[int, int] = {}  # a key's width as last laid out (a hidden key has none)

    async def recompose(self) -> None:
        await super().recompose()
        drop_closed_watchers(self)
        self._widths.clear()
        self.call_after_refresh(self._fit_keys)

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_keys)

    def _fit_keys(self) -> None:
        docked = [child for child in self.children if child.styles.dock != "none" and child.display]
        room = self.content_region.width - sum(child.outer_size.width for child in docked)
        used = 0
        fits = True
        for child in self.children:
            if child.styles.dock != "none":
                continue
            width = self._width(child)
            fits = fits and used + width <= room
            used += width
            if child.display != fits:
                child.display = fits

    def _width(self, child: Widget) -> int:
        if child.display and child.outer_size.width:
            self._widths[id(child)] = child.outer_size.width + child.styles.margin.width
        return self._widths.get(id(child), 0)
