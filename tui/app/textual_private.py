"""Every use of a private Textual name in the app, in one place (Textual 8.2).

Each one is here because the public API has no equivalent; `tests/test_textual_private.py` fails when an
upgrade renames or changes any of them, so a Textual upgrade is a change to this module only.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App
from textual.cache import LRUCache
from textual.dom import DOMNode
from textual.geometry import Region, Size
from textual.keys import _character_to_key
from textual.notifications import Notification
from textual.reactive import Reactive, reactive
from textual.visual import VisualType
from textual.widgets import OptionList

__all__ = [
    "LineOptionList",
    "app_is_live",
    "character_key",
    "crash",
    "drop_closed_watchers",
    "keymap_token",
    "notifications",
    "restore_terminal_title",
    "set_by_layout_virtual_size",
    "set_terminal_title",
    "write_to_terminal",
]


def character_key(char: str) -> str:
    """The key name Textual gives a typed character ("/" is "slash"): `keys._character_to_key`."""
    return _character_to_key(char)


def app_is_live(app: App[Any]) -> bool:
    """Mounted and not shutting down. Session callbacks still arrive while the app exits, and handling them then
    touches widgets being torn down; Textual has no public "closing" flag (`_exit`, `_closing`, `_closed`,
    `_screen_stack`)."""
    return bool(app._screen_stack) and app.is_running and not app._exit and not app._closing and not app._closed


def keymap_token(app: App[Any]) -> int:
    """Changes when the user's keymap is replaced (the footer must then be rebuilt): `App._keymap`."""
    return id(app._keymap)


def notifications(app: App[Any]) -> list[Notification]:
    """The toasts the app holds now (`App._notifications`): what the user was told, for tests and diagnostics."""
    return list(app._notifications)


def write_to_terminal(app: App[Any], data: str) -> bool:
    """Write escape sequences straight to the terminal, as `App.copy_to_clipboard` does (`App._driver`);
    False when there is no terminal (tests without a driver)."""
    driver = app._driver
    if driver is None:
        return False
    driver.write(data)
    return True


def crash(app: App[Any]) -> BaseException | None:
    """The exception that ended the app, if one did (`App._exception`)."""
    return app._exception


_TITLE_PUSH = "\x1b[22;0t"  # XTWINOPS: save the title the terminal had (ignored where unsupported)
_TITLE_POP = "\x1b[23;0t"


def set_terminal_title(app: App[Any], title: str) -> None:
    """Set the terminal's (and tmux's) window title with OSC 2, as Textual writes its own OSC 22 pointer shape
    (`App._driver.write`). The title must be ours: no server text (an escape there would reach the terminal).
    The first time, the terminal's own title is saved for `restore_terminal_title`."""
    driver = app._driver
    if driver is not None:
        safe = "".join(c for c in title if c.isprintable())
        push = "" if getattr(app, "_title_pushed", False) else _TITLE_PUSH
        app._title_pushed = True  # type: ignore[attr-defined]
        driver.write(f"{push}\x1b]2;{safe}\x07")


def restore_terminal_title(app: App[Any]) -> None:
    """At quit: clear our title (tmux and terminals without a title stack) and bring back the saved one."""
    driver = app._driver
    if driver is not None and getattr(app, "_title_pushed", False):
        app._title_pushed = False  # type: ignore[attr-defined]
        driver.write(f"\x1b]2;\x07{_TITLE_POP}")


def drop_closed_watchers(node: DOMNode) -> None:
    """Forget the watchers of `node`'s reactives whose owners are closed. Textual keeps them in `__watchers` (one
    list per reactive, `data_bind` adds to it) and prunes a list only when that reactive changes; `_closing` is
    the flag that pruning uses."""
    for watchers in getattr(node, "__watchers", {}).values():
        watchers[:] = [(owner, callback) for owner, callback in watchers if not owner._closing]


class _StripCache(LRUCache[Any, Any]):
    """`OptionList._option_render_cache` with each option's keys at hand (a key is `(option, style, padding)`):
    dropping one option's lines costs its few keys, not a walk over the whole cache (2,048 keys, for each of
    the running rows the list's spinner repaints twice a second)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._by_option: dict[Any, set[Any]] = {}

    def set(self, key: Any, value: Any) -> None:
        super().set(key, value)
        self._by_option.setdefault(key[0], set()).add(key)

    __setitem__ = set

    def clear(self) -> None:
        super().clear()
        self._by_option.clear()

    def discard_option(self, option: Any) -> None:
        for key in self._by_option.pop(option, ()):
            self.discard(key)


def set_by_layout_virtual_size() -> Reactive[Size]:
    """A `virtual_size` reactive for a widget whose virtual size only the layout sets: assigned in the class body,
    it replaces `Widget.virtual_size` (`layout=True`). The screen's layout pass (`Screen._refresh_layout` ->
    `Widget._size_updated`) assigns the size it just laid out; with `layout=True` that assignment asks for a
    second layout and a repaint of the whole widget, which Textual writes to the terminal as a second frame
    identical to the first, each time the widget changes size. The first pass already placed and painted
    everything that moved, so nothing is lost."""
    return Reactive(Size(0, 0), layout=False, repaint=False)


class LineOptionList(OptionList):
    """An OptionList whose one-line options can be replaced and repainted one line at a time.

    `replace_option_prompt` clears every cached line and measures every option again, and moving the highlight
    repaints the whole list: with hundreds of rows and a 2 Hz spinner that is most of the app's CPU. This uses
    `Option._set_prompt`, `OptionList._option_render_cache`, `_heights`, `_index_to_line`,
    `_get_left_gutter_width` and overrides `_watch_highlighted`.
    """

    # Moving the cursor repaints the two lines it leaves and enters, not the whole list (a scroll, when the
    # cursor leaves the window, repaints everything anyway).
    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._option_render_cache = _StripCache(self._option_render_cache.maxsize)

    def _watch_highlighted(self, old: int | None, new: int | None) -> None:
        width = self.scrollable_content_region.width
        for index in (old, new):
            if index is None:
                continue
            line = self._index_to_line.get(index)
            if line is None:
                self.refresh()
                return
            y = line - self.scroll_offset.y
            height = self._heights.get(index, 1)
            self.refresh(Region(0, y, width, height))

    @property
    def row_width(self) -> int:
        """Cells a one-line option has (0 before the first layout)."""
        padding = self.get_component_styles("option-list--option").padding
        return max(0, self.scrollable_content_region.width - self._get_left_gutter_width() - padding.width)

    def set_line_prompt(self, option_id: str, prompt: VisualType) -> bool:
        """Replace a one-line option's prompt and repaint that line only. False when the option is not there."""
        try:
            index = self.get_option_index(option_id)
        except Exception:
            return False
        option = self.get_option_at_index(index)
        if option.prompt == prompt:
            return True
        if self._heights.get(index, 1) != 1 or not isinstance(prompt, Text):
            self.replace_option_prompt(option_id, prompt)
            return True
        option._set_prompt(prompt)
        cache = self._option_render_cache
        if isinstance(cache, _StripCache):
            cache.discard_option(option)
        else:
            for key in [k for k in cache.keys() if k[0] is option]:  # noqa: SIM118 - LRUCache is not iterable
                cache.discard(key)
        line = self._index_to_line.get(index)
        if line is not None:
            y = line - self.scroll_offset.y
            if 0 <= y < self.scrollable_content_region.height:
                self.refresh(Region(0, y, self.scrollable_content_region.width, 1))
        return True
