"""A TextArea whose cursor blinks only while someone is using it.

A blinking cursor repaints its line twice a second (about 450 bytes a second on the wire) for as long as the app
is left alone. This one blinks for `BLINK_FOR` seconds after a key or the focus, then stays on: nothing repaints
while nothing changes.
"""

from __future__ import annotations

import time

from textual import events
from textual.timer import Timer
from textual.widgets import TextArea

BLINK_FOR = 10.0


class SteadyCursorTextArea(TextArea):
    _steady_timer: Timer | None = None
    _steadied = False  # the blink was stopped here (not by whoever set `cursor_blink = False`)
    _last_use = 0.0

    def on_focus(self, event: events.Focus) -> None:
        self._blink_a_while()

    def on_key(self, event: events.Key) -> None:
        self._blink_a_while()

    def _blink_a_while(self) -> None:
        self._last_use = time.monotonic()
        if self._steadied:
            self._steadied = False
            self.cursor_blink = True
        if self._steady_timer is None and self.cursor_blink:
            self._steady_timer = self.set_timer(BLINK_FOR, self._steady_or_wait)

    def _steady_or_wait(self) -> None:
        # One timer for a burst of keys: it waits again for what is left since the last one.
        left = self._last_use + BLINK_FOR - time.monotonic()
        if left > 0.05:
            self._steady_timer = self.set_timer(left, self._steady_or_wait)
            return
        self._steady_timer = None
        if self.cursor_blink:
            self._steadied = True
            self.cursor_blink = False  # Textual then shows the cursor steadily while focused
