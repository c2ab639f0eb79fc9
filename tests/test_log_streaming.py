"""Pilot tests: the live reply streams right after the newest block (no gap, at any terminal size), shows markdown
as it arrives, and the final message takes its place."""

from __future__ import annotations

import contextlib

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import make_app, wait_for
from tui.app.widgets.event_log import EventItem
from tui.client import AgentClient
from tui.demo import DemoServer
from tui.protocol import StartConversationRequest


@contextlib.asynccontextmanager
async def streaming_reply(tmp_path, size, *, token_rate: float):
    """The app open on a conversation of a demo server whose long markdown reply (`[markdown]`) starts streaming."""
    with DemoServer(**{**FAST_KNOBS, "token_rate": token_rate}) as srv:
        async with AgentClient(srv.base_url) as client:
            request = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/stream")
            request.agent["llm"]["stream"] = True
            cid = (await client.create_conversation(request)).id
        app = make_app(srv.base_url, tmp_path)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, what="listed")
            await app.open_conversation("demo", cid)
            session = app.session
            await wait_for(pilot, lambda: str(session.connection.state.value) == "live", what="live")
            await session.submit("[markdown] a long reply please")
            yield app, pilot


def _rows(stream) -> list[str]:
    tail = stream.query_one("#stream-markdown")
    return [row.plain for row in tail._rows]


def _text_rows(stream) -> list[str]:
    return [row.strip() for row in _rows(stream)]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_reply_streams_right_after_the_last_event_as_markdown(tmp_path, size):
    async with streaming_reply(tmp_path, size, token_rate=30.0) as (app, pilot):
        log = app.view.log_widget
        stream = log.token_stream
        await wait_for(pilot, lambda: "What was checked" in stream.text, 20, what="a heading streamed")
        await pilot.pause(0.2)
        # Right after the newest block: no empty rows between the two (the message's own margin aside).
        last = [i for i in log.items if isinstance(i, EventItem)][-1]
        assert stream.display and stream.region.height > 0
        gap = stream.virtual_region.y - last.virtual_region.bottom
        assert 0 <= gap <= 1, f"{gap} empty rows between the last event and the live reply"
        # Markdown as it arrives: headings without their marks, bullets as bullets.
        rows = _rows(stream)
        assert any(r.strip() == "What was checked" for r in rows), rows
        assert not any(r.lstrip().startswith("#") for r in rows), rows
        # The final message lands where the reply streamed; the live panel empties and hides.
        await wait_for(pilot, lambda: "Demo report" in log.plain_text(), 30, what="the final message")
        await wait_for(pilot, lambda: not stream.text, what="the live reply cleared")
        final = [i for i in log.items if isinstance(i, EventItem) and "Demo report" in i.plain][-1]
        assert log.children.index(final) < log.children.index(stream)
        assert log.plain_text().count("Demo report") == 1


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_a_long_reply_is_shown_whole_its_newest_line_on_screen_and_it_lands_in_place(tmp_path, size):
    async with streaming_reply(tmp_path, size, token_rate=40.0) as (app, pilot):
        log = app.view.log_widget
        stream = log.token_stream
        tail = stream.query_one("#stream-markdown")
        seen_taller = False
        for words in ("What was checked", "Findings", "Suggested change", "Next steps"):
            await wait_for(pilot, lambda w=words: w in stream.text, 30, what=f"{words!r} streamed")
            await pilot.pause(0.15)
            if not stream.text:
                break  # landed already (a slow machine): the checks below still hold
            rows = _text_rows(stream)
            # The whole reply so far, from its first line (not only its newest lines).
            assert rows[0] == "Demo report", rows[:3]
            assert words in rows, rows
            seen_taller = seen_taller or tail.region.y + len(rows) > log.region.bottom or log.scroll_y > 0
            # Following: the newest line of the reply is on screen.
            newest = tail.region.y + len(rows) - 1
            assert log.region.y <= newest < log.region.bottom, (newest, log.region, log.scroll_y)
            live_y = stream.virtual_region.y
        assert seen_taller or size[1] > 24, "the reply never outgrew the screen: the test shows nothing"
        # Its first line stays reachable: scrolled up to, it is there.
        if stream.text:
            log.scroll_to(y=stream.virtual_region.y, animate=False, immediate=True)
            await pilot.pause()
            assert log.region.y <= tail.region.y < log.region.bottom and _text_rows(stream)[0] == "Demo report"
            await pilot.press("end")
        # It becomes the final message where it streamed, once.
        await wait_for(pilot, lambda: not stream.text and "Demo report" in log.plain_text(), 30, what="landed")
        final = [i for i in log.items if isinstance(i, EventItem) and "Demo report" in i.plain][-1]
        await wait_for(pilot, lambda: final.virtual_region.height > 0, what="the final message laid out")
        assert final.virtual_region.y == live_y, (final.virtual_region.y, live_y)
        assert log.children.index(final) < log.children.index(stream)
        assert log.plain_text().count("Demo report") == 1


async def test_the_text_of_a_landed_reply_still_held_by_the_session_is_not_shown_again():
    from textual.app import App

    from tui.app.widgets.token_stream import TokenStream

    class One(App):
        def compose(self):
            yield TokenStream(id="live")

    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        stream = app.query_one(TokenStream)
        await stream.set_text("## Done\n\nThe answer.")
        await pilot.pause()
        assert stream.display and stream.has_class("-active")
        stream.landed()  # its final message was mounted in the log
        await stream.set_text("## Done\n\nThe answer.")  # a session that joined late still holds that text
        await pilot.pause()
        assert not stream.has_class("-active"), "the landed reply shown twice"
        await stream.set_text("Next reply")  # a new reply shows
        await pilot.pause()
        assert stream.has_class("-active") and stream.text == "Next reply"
