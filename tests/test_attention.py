"""The attention queue's model (no Textual, no server): what is in it, in which order, what dismissing does, and
approve-all going on after a refusal."""

from __future__ import annotations

from tests.snapshot_apps.fixed import NOW, confirm_events, info, iso, msg
from tui.client import NotFound
from tui.config import ServerConfig
from tui.protocol import ExecutionStatus, SecurityRisk, parse_event
from tui.session import Fleet, WatchList
from tui.session.attention import AttentionQueue, Reason, approve_all


def _fleet() -> tuple[Fleet, WatchList]:
    fleet = Fleet([ServerConfig("a", "http://127.0.0.1:1"), ServerConfig("b", "http://127.0.0.1:2")])
    a, b = fleet.servers
    a.conversations = {
        i.id: i
        for i in [
            info("wait", "Clean the build", "waiting_for_confirmation", 300, confirm=True),
            info("err", "Migrate the database", "error", 7200),
            info("run", "Busy one", "running", 5),
            info("done-seen", "Old news", "finished", 9000),
        ]
    }
    b.conversations = {
        i.id: i
        for i in [info("stuck", "Refactor the parser", "stuck", 600), info("done", "Write notes", "finished", 60)]
    }
    watchlist = WatchList(fleet, lambda key, session: (None, lambda: None), auto_watch=False)
    return fleet, watchlist


def test_everything_that_needs_the_person_oldest_first_with_its_details():
    fleet, watchlist = _fleet()
    watchlist.attention.add(("b", "done"))  # finished while nobody looked
    waiting = watchlist.watch(("a", "wait"))
    waiting.timeline.merge([parse_event(e) for e in confirm_events()])
    waiting.rules.status = ExecutionStatus.WAITING_FOR_CONFIRMATION  # what the socket would report
    failed = fleet.session("a", "err")
    failed.timeline.merge(
        [
            parse_event(
                {"kind": "ConversationErrorEvent", "id": "x", "timestamp": iso(7200), "detail": "disk \x1b[31mfull"}
            )
        ]
    )
    finished = fleet.session("b", "done")
    finished.timeline.merge([parse_event(msg(9, "agent", "All notes written.\nSee NOTES.md\nthird line", 60))])

    items = AttentionQueue(watchlist).items()

    assert [(i.key, i.reason) for i in items] == [
        (("a", "err"), Reason.ERROR),
        (("b", "stuck"), Reason.STUCK),
        (("a", "wait"), Reason.WAITING),
        (("b", "done"), Reason.FINISHED),
    ], "oldest first; running and already-seen finished ones are not there"
    err, _stuck, wait, done = items
    assert err.detail == "disk full", "the error, escape sequence stripped"
    assert [p.action.id for p in wait.pending] == ["a1"] and wait.pending[0].risk is SecurityRisk.MEDIUM
    assert done.detail == "All notes written.\nSee NOTES.md", "the first lines of the last answer"
    assert err.since is not None and abs(err.since - (NOW - 7200)) < 1


def test_dismissed_until_it_needs_the_person_again_and_opening_marks_finished_seen():
    fleet, watchlist = _fleet()
    watchlist.attention.add(("b", "done"))
    queue = AttentionQueue(watchlist)
    err = next(i for i in queue.items() if i.key == ("a", "err"))
    queue.dismiss(err)
    assert ("a", "err") not in [i.key for i in queue.items()]
    # The same conversation fails again later: it is back.
    fleet.servers[0].conversations["err"] = info("err", "Migrate the database", "error", 10)
    assert ("a", "err") in [i.key for i in queue.items()]

    watchlist.open(("b", "done"))
    assert ("b", "done") not in [i.key for i in queue.items()], "seen once opened"
    assert queue.count() == len(queue.items()) == 3


async def test_approve_all_goes_on_after_a_refusal_and_reports_it():
    fleet, watchlist = _fleet()
    fleet.servers[1].conversations["w2"] = info("w2", "Second", "waiting_for_confirmation", 100, confirm=True)
    items = AttentionQueue(watchlist).items()
    called = []

    async def approve(key):
        called.append(key)
        if key == ("a", "wait"):
            raise NotFound("conversation not found")

    outcomes = await approve_all(items, approve)
    assert called == [("a", "wait"), ("b", "w2")], "only the waiting ones, each once, in the queue's order"
    assert [(o.item.key, o.ok) for o in outcomes] == [(("a", "wait"), False), (("b", "w2"), True)]
    assert isinstance(outcomes[0].error, NotFound)


def test_the_terminal_title_is_written_with_osc_2_and_nothing_unprintable():
    from tui.app.textual_private import restore_terminal_title, set_terminal_title

    class Driver:
        def __init__(self) -> None:
            self.written: list[str] = []

        def write(self, data: str) -> None:
            self.written.append(data)

    class FakeApp:
        _driver = Driver()

    app = FakeApp()
    set_terminal_title(app, "openhands-tui · 3 need you\x07\x1b]0;evil")  # type: ignore[arg-type]
    set_terminal_title(app, "openhands-tui")  # type: ignore[arg-type]
    # The terminal's own title is saved once (XTWINOPS 22), and brought back at quit (23) after ours is cleared.
    assert FakeApp._driver.written == [
        "\x1b[22;0t\x1b]2;openhands-tui · 3 need you]0;evil\x07",
        "\x1b]2;openhands-tui\x07",
    ]
    restore_terminal_title(app)  # type: ignore[arg-type]
    assert FakeApp._driver.written[-1] == "\x1b]2;\x07\x1b[23;0t"


def test_a_finished_answer_is_listed_as_read_without_its_markdown_marks():
    from tui.app.screens.attention import item_prompt
    from tui.session.attention import AttentionItem

    answer = "## Done\nThe login test **passes** now: run `pytest -q`\n```python\n- see [the docs](http://x.test/docs)"
    item = AttentionItem(("work", "c-done"), "Fix the login test", Reason.FINISHED, NOW - 60, answer)
    shown = item_prompt(item, NOW).plain
    assert "Done" in shown and "The login test passes now: run pytest -q" in shown, shown
    assert "• see the docs" in shown, shown
    assert not any(mark in shown for mark in ("`", "**", "##", "](")), shown
    # An error's text is shown as it is (a backtick there is part of what went wrong).
    error = AttentionItem(("work", "c-err"), "Migrate", Reason.ERROR, NOW - 60, "bad `token`")
    assert "bad `token`" in item_prompt(error, NOW).plain
