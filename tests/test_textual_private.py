"""Every private Textual name the app uses (all in `tui.app.textual_private`) still exists and still does what
the app relies on. When a Textual upgrade breaks one of these, fix `textual_private.py`, nowhere else."""

from __future__ import annotations

import inspect
from pathlib import Path

from rich.text import Text
from textual import reactive as _reactive_module
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.app import textual_private
from tui.app.actions import PRINTABLE
from tui.app.textual_private import (
    LineOptionList,
    app_is_live,
    character_key,
    crash,
    keymap_token,
    notifications,
    set_by_layout_virtual_size,
)

APP_DIR = Path(textual_private.__file__).parent


def test_the_private_names_exist():
    for name in ("_screen_stack", "_exit", "_closing", "_closed", "_keymap"):
        assert name in App().__dict__ or hasattr(App(), name), name
    assert callable(Option._set_prompt)
    assert list(inspect.signature(Option._set_prompt).parameters) == ["self", "prompt"]
    assert callable(OptionList._get_left_gutter_width)
    # A reactive calls `_watch_<name>` too (LineOptionList's `_watch_highlighted` repaints two lines, not all).
    assert 'getattr(obj, f"_watch_{name}", None)' in inspect.getsource(_reactive_module)
    options = OptionList()
    for name in ("_option_render_cache", "_heights", "_index_to_line"):
        assert hasattr(options, name), name
    assert callable(options._option_render_cache.keys) and callable(options._option_render_cache.discard)


def test_character_key_names_every_printable_character():
    names = {char: character_key(char) for char in PRINTABLE}
    assert names["a"] == "a" and names["/"] == "slash" and names["?"] == "question_mark" and names[" "] == "space"
    assert len(set(names.values())) == len(PRINTABLE)


class Lines(App[None]):
    def compose(self) -> ComposeResult:
        yield LineOptionList(*[Option(Text(f"row {n}"), id=f"r{n}") for n in range(30)])


async def test_line_option_list_replaces_one_line_in_place():
    app = Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        options = app.query_one(LineOptionList)
        await pilot.pause()
        assert options.row_width > 0
        before = options.get_option("r3")
        assert options.set_line_prompt("r3", Text("changed"))
        await pilot.pause()
        assert options.get_option("r3") is before and str(before.prompt) == "changed"
        assert "changed" in "".join(strip.text for strip in options.render_lines(options.region.reset_offset))
        assert not options.set_line_prompt("missing", Text("x"))
        repainted = []
        original = options.refresh
        options.refresh = lambda *regions, **kw: repainted.append(regions) or original(*regions, **kw)
        options.highlighted = 5
        await pilot.pause()
        assert options.highlighted_option is not None and options.highlighted_option.id == "r5"
        assert any(len(regions) == 1 and regions[0].height == 1 for regions in repainted), "one line repainted"


async def test_app_is_live_only_while_running():
    app = Lines()
    assert not app_is_live(app)
    async with app.run_test() as pilot:
        assert app_is_live(app)
        assert crash(app) is None
        app.notify("hello", timeout=30)
        await pilot.pause()
        assert [n.message for n in notifications(app)] == ["hello"]
        token = keymap_token(app)
        app.set_keymap({"quit": "ctrl+x"})
        assert keymap_token(app) != token
        app.exit()
        await pilot.pause()
        assert not app_is_live(app)


class PlainLog(VerticalScroll):
    pass


class OnceLog(VerticalScroll):
    virtual_size = set_by_layout_virtual_size()


class OnceStatic(Static):
    virtual_size = set_by_layout_virtual_size()


class Growing(App[None]):
    def __init__(self, log: VerticalScroll, body: Static) -> None:
        super().__init__()
        self.log_widget = log
        self.body = body

    def compose(self) -> ComposeResult:
        with self.log_widget:
            yield self.body


async def _layouts_after_growth(log: VerticalScroll, body: Static) -> tuple[int, int]:
    """How many layout passes and frames the screen makes after the log's content grows by a few lines (the
    log and the widget that grows both change size)."""
    body.update("\n".join(f"line {n}" for n in range(30)))
    app = Growing(log, body)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        layouts: list[int] = []
        frames: list[int] = []
        refresh_layout = screen._refresh_layout
        display = app._display

        def counted_layout(*args, **kwargs):
            layouts.append(1)
            return refresh_layout(*args, **kwargs)

        def counted_display(*args, **kwargs):
            frames.append(1)
            return display(*args, **kwargs)

        screen._refresh_layout = counted_layout  # type: ignore[method-assign]
        app._display = counted_display  # type: ignore[method-assign]
        body.update("\n".join(f"line {n}" for n in range(34)))
        for _ in range(4):
            await pilot.pause()
        assert log.virtual_size.height == 34, "the virtual size is still set by the layout"
        return len(layouts), len(frames)


async def test_a_virtual_size_set_by_layout_costs_one_layout():
    """Textual lays out (and paints) twice when a scrolling container's virtual size changes: the layout pass
    assigns `virtual_size`, a `layout=True` reactive, which asks for another. Our override makes it once; when
    Textual stops doing it twice, `set_by_layout_virtual_size` can go."""
    plain = await _layouts_after_growth(PlainLog(), Static())
    once = await _layouts_after_growth(OnceLog(), OnceStatic())
    assert plain[0] == 2
    assert once[0] == 1 and once[1] <= plain[1]


def test_no_other_app_module_uses_a_private_textual_name():
    """The names above appear in textual_private.py only (the rest of the app uses its helpers)."""
    names = (
        "_set_prompt",
        "_option_render_cache",
        "_heights",
        "_index_to_line",
        "_get_left_gutter_width",
        "_watch_highlighted",
        "_screen_stack",
        "._exit",
        "_closing",
        "_closed",
        "_keymap",
        "_character_to_key",
    )
    mine = [
        "app.py",
        "commands.py",
        "messages.py",
        "actions.py",
        "snapshot.py",
        "screens/dialogs.py",
        "screens/help.py",
        "widgets/conversation_list.py",
        "widgets/conversation_view.py",
        "widgets/message_input.py",
        "widgets/queue_view.py",
        "widgets/status_bar.py",
        "widgets/confirmation.py",
    ]
    for path in mine:
        text = (APP_DIR / path).read_text()
        for name in names:
            assert name not in text, f"{path} uses {name}: move it into textual_private.py"


async def test_line_option_list_shows_every_change_of_a_line_drawn_before():
    """A spinner: the same row changed again and again after each paint shows its latest text every time (the
    lines cached for that row are dropped by the row, the render cache's keys start with the option)."""
    app = Lines()
    async with app.run_test(size=(40, 12)) as pilot:
        options = app.query_one(LineOptionList)
        await pilot.pause()
        assert all(isinstance(key[0], Option) for key in options._option_render_cache.keys())  # noqa: SIM118 - not iterable
        for frame in "⠋⠙⠹⠸":
            assert options.set_line_prompt("r2", Text(f"{frame} running"))
            await pilot.pause()
            drawn = [strip.text for strip in options.render_lines(options.region.reset_offset)]
            assert any(f"{frame} running" in line for line in drawn), drawn
            assert any("row 1" in line for line in drawn) and any("row 3" in line for line in drawn)
