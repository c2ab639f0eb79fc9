"""The attention queue in the app, against two embedded servers: the key opens it from anywhere, approve / reject /
open / dismiss act on the highlighted conversation without opening it, and "approve all" names every action,
asks once, and goes on past a conversation whose server refuses."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList, Static

from tests.fixtures_demo import start_demo
from tests.helpers import new_conversation
from tests.snapshot_apps.harness import Prefs, wait_for
from tui.app.app import OpenHandsApp
from tui.app.screens.attention import ApproveAllScreen, AttentionScreen
from tui.app.screens.dialogs import PromptScreen
from tui.app.textual_private import notifications
from tui.client import AgentClient
from tui.config import ServerConfig
from tui.protocol import ExecutionStatus
from tui.session import Fleet
from tui.session.attention import Reason

SIZE = (120, 36)


@pytest.fixture
def two_servers():
    first, second = start_demo(), start_demo()
    yield first, second
    first.stop()
    second.stop()


def _app(urls: list[str], tmp_path) -> OpenHandsApp:
    fleet = Fleet(
        [ServerConfig(f"s{n + 1}", url) for n, url in enumerate(urls)],
        state_dir=tmp_path,
        fast_poll=0.3,
        slow_poll=0.5,
    )
    return OpenHandsApp(fleet, preferences=Prefs())


async def _waiting(url: str, text: str = "confirm: clean the build directory") -> str:
    async with AgentClient(url) as client:
        cid = await new_conversation(client, confirm=True)
        await client.send_message(cid, text)
        return cid


async def _status(url: str, cid: str) -> ExecutionStatus:
    async with AgentClient(url) as client:
        return (await client.get_conversation(cid)).status


def _shown(app: OpenHandsApp) -> list[tuple[tuple[str, str], Reason, int]]:
    screen = app.screen
    assert isinstance(screen, AttentionScreen)
    return [(i.key, i.reason, len(i.pending)) for i in screen.items]


async def test_approve_all_across_two_servers_goes_on_past_a_refusal(two_servers, tmp_path):
    first, second = two_servers
    one = await _waiting(first.base_url)
    two = await _waiting(second.base_url)
    three = await _waiting(second.base_url)
    app = _app([first.base_url, second.base_url], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        assert isinstance(app.screen, AttentionScreen)
        want = {("s1", one), ("s2", two), ("s2", three)}
        await wait_for(
            pilot,
            lambda: {k for k, r, n in _shown(app) if r is Reason.WAITING and n} == want,
            what="the three waiting conversations with their pending actions",
        )
        assert app.title == "openhands-tui · 3 need you", "the count in the terminal title"
        assert "3 need you" in str(app.screen.query_one("#attention-title", Static).render())

        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, ApproveAllScreen), what="the one question")
        question = app.screen.question
        assert question.count("rm -rf build") == 3, "every action that will run is named"
        for server, _cid in want:
            assert f"• {server} · “" in question
        assert "all at once" in question, "the per-conversation all-or-nothing approval is said"

        # The first server refuses: the conversation is gone there by the time the person says yes.
        async with AgentClient(first.base_url) as client:
            await client.delete_conversation(one)
        await pilot.press("y")

        async def approved() -> bool:
            return all(
                [
                    await _status(second.base_url, c) is not ExecutionStatus.WAITING_FOR_CONFIRMATION
                    for c in (two, three)
                ]
            )

        for _ in range(200):
            if await approved():
                break
            await pilot.pause(0.05)
        assert await approved(), "both conversations of the second server approved"
        await wait_for(
            pilot,
            lambda: any("not approved" in str(n.message) and n.severity == "error" for n in notifications(app)),
            what="the refusal reported",
        )
        assert any(str(n.message) == "Approved 2 conversations" for n in notifications(app))
        assert app.current is None, "no conversation was opened"
        await wait_for(pilot, lambda: not any(r is Reason.WAITING for _k, r, _n in _shown(app)), what="queue drained")


async def test_approve_reject_open_and_dismiss_one_from_the_queue(two_servers, tmp_path):
    first, second = two_servers
    approve_me = await _waiting(first.base_url)
    reject_me = await _waiting(second.base_url)
    open_me = await _waiting(second.base_url)
    app = _app([first.base_url, second.base_url], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.view.input.focus()  # "from anywhere": even with the message box focused
        await pilot.press("f3")
        await wait_for(pilot, lambda: len([1 for _k, _r, n in _shown(app) if n]) == 3, what="all listed")
        options = app.screen.query_one(OptionList)

        def highlight(key) -> None:
            options.highlighted = next(n for n, i in enumerate(app.screen.items) if i.key == key)

        highlight(("s2", reject_me))
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), what="asks for a reason")
        assert "rm -rf build" in str(app.screen.query_one(".title", Static).render())
        app.screen.query_one(Input).value = "not on a friday"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AttentionScreen), what="back in the queue")

        highlight(("s1", approve_me))
        await pilot.press("ctrl+y")
        for _ in range(200):
            if await _status(first.base_url, approve_me) is not ExecutionStatus.WAITING_FOR_CONFIRMATION:
                break
            await pilot.pause(0.05)
        assert await _status(first.base_url, approve_me) is not ExecutionStatus.WAITING_FOR_CONFIRMATION
        assert await _status(second.base_url, reject_me) is not ExecutionStatus.WAITING_FOR_CONFIRMATION
        assert app.current is None

        # The approved turn ends while nobody looks: finished and unseen, in the queue with its answer.
        await wait_for(
            pilot,
            lambda: any(i.key == ("s1", approve_me) and i.reason is Reason.FINISHED for i in app.screen.items),
            what="the approved one finished, unseen",
        )
        item = await wait_for(
            pilot,
            lambda: next((i for i in app.screen.items if i.key == ("s1", approve_me) and i.detail), None),
            what="with the first lines of its last answer",
        )
        assert "build directory" in item.detail.lower()
        highlight(item.key)
        await pilot.press("d")
        await pilot.pause()
        assert item.key not in [k for k, _r, _n in _shown(app)], "dismissed"
        highlight(("s2", open_me))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.current == ("s2", open_me), what="opened")
        assert not isinstance(app.screen, AttentionScreen)
        assert await _status(second.base_url, open_me) is ExecutionStatus.WAITING_FOR_CONFIRMATION, "only opened"
