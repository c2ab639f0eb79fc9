"""The footer of keys is rebuilt whenever the enabled keys change (the focus moves, a turn starts or ends): the
keys of the old footer must not stay alive after each rebuild, or a long session grows with every turn."""

from __future__ import annotations

import gc

from textual.widgets._footer import FooterKey

from tests.snapshot_apps.fixed import build_app
from tui.app.widgets.key_footer import KeyFooter

REBUILDS = 30


def live_footer_keys() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, FooterKey))


async def test_footer_rebuilds_do_not_keep_the_old_keys_alive():
    app = build_app("main")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeyFooter)
        for _ in range(REBUILDS):
            # The list and the message box enable different keys: each focus change rebuilds the footer.
            app.fleet_list.focus()
            await pilot.pause()
            app.view.input.focus()
            await pilot.pause()
        await pilot.pause()
        mounted = len(footer.query(FooterKey))
        assert mounted > 0, "the footer shows keys"
        alive = live_footer_keys()
        # A few detached keys may wait for the next collection or sit in a cache; a leak keeps every rebuild's.
        assert alive <= 2 * mounted, f"{alive} FooterKey widgets alive for {mounted} shown"
