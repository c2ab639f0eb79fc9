"""WatchList without Textual or a server: which conversations are followed, pinned, flagged, and their rows."""

from __future__ import annotations

from tui.config import ServerConfig
from tui.protocol import ConversationInfo, ExecutionStatus
from tui.session import Fleet, WatchList
from tui.session.watchlist import Key

SERVER = "work"


class FakeTask:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def info(cid: str, status: str, title: str = "", updated: str = "2026-07-01T12:00:00Z") -> ConversationInfo:
    return ConversationInfo(
        id=cid,
        title=title or None,
        execution_status=status,
        updated_at=updated,
        created_at=updated,
        stats={"usage_to_metrics": {"agent": {"accumulated_cost": 0.25}}},
    )


def build(*infos: ConversationInfo, auto_watch: bool = True) -> tuple[WatchList, dict[Key, FakeTask], list[Key]]:
    fleet = Fleet([ServerConfig(SERVER, "http://127.0.0.1:9")])
    fleet.entry(SERVER).conversations = {i.id: i for i in infos}
    tasks: dict[Key, FakeTask] = {}
    unsubscribed: list[Key] = []

    def follow(key, session):
        tasks[key] = FakeTask()
        return tasks[key], lambda: unsubscribed.append(key)

    return WatchList(fleet, follow, auto_watch=auto_watch), tasks, unsubscribed


def key(cid: str) -> Key:
    return (SERVER, cid)


def test_running_and_waiting_conversations_are_followed_idle_ones_not():
    wl, tasks, _ = build(
        info("run", "running"), info("wait", "waiting_for_confirmation"), info("done", "finished"), info("new", "idle")
    )
    servers, alerts = wl.rows()
    assert set(wl.watched) == {key("run"), key("wait")} == set(tasks)
    assert [r.id for r in servers[0].conversations] == ["run", "wait", "done", "new"]
    assert alerts == []  # the first sight of a status is no news


def test_no_auto_watch_follows_nothing_by_itself():
    wl, _, _ = build(info("run", "running"), auto_watch=False)
    wl.rows()
    assert wl.watched == {}


def test_a_background_conversation_that_finishes_is_flagged_once():
    wl, _, _ = build(info("run", "running", title="Build it"), info("other", "idle"))
    wl.rows()
    wl.open(key("other"))
    wl.watched[key("run")].session.rules.status = ExecutionStatus.FINISHED  # what the socket would report
    _, alerts = wl.rows()
    assert [(a.key, a.status, a.title) for a in alerts] == [(key("run"), ExecutionStatus.FINISHED, "Build it")]
    assert key("run") in wl.attention and wl.row(key("run")).attention
    assert wl.rows()[1] == []  # told once
    wl.open(key("run"))
    assert key("run") not in wl.attention


def test_the_open_conversation_is_never_an_alert():
    wl, _, _ = build(info("run", "running"))
    wl.rows()
    wl.open(key("run"))
    assert wl.saw_status(key("run"), ExecutionStatus.ERROR) is None
    assert not wl.attention


def test_an_error_alert_is_severe():
    wl, _, _ = build(info("run", "running"))
    wl.rows()
    alert = wl.saw_status(key("run"), ExecutionStatus.ERROR)
    assert alert is not None and alert.severe


def test_opening_another_stops_following_an_idle_unpinned_one():
    wl, tasks, unsubscribed = build(info("a", "idle"), info("b", "idle"), info("c", "running"))
    wl.open(key("a"))
    _, previous = wl.open(key("b"))
    assert previous == key("a")
    assert key("a") not in wl.watched and tasks[key("a")].cancelled and unsubscribed == [key("a")]
    wl.rows()  # follows "c": it runs
    wl.open(key("c"))
    wl.open(key("b"))
    assert key("c") in wl.watched, "a running conversation keeps its worker"


def test_a_pinned_conversation_stays_followed():
    wl, _, _ = build(info("a", "idle"), info("b", "idle"))
    assert wl.toggle_pin(key("a")) is True
    assert key("a") in wl.watched and wl.row(key("a")).pinned
    wl.open(key("a"))
    wl.open(key("b"))
    assert key("a") in wl.watched
    assert wl.toggle_pin(key("a")) is False
    wl.open(key("a"))
    wl.open(key("b"))
    assert key("a") not in wl.watched


def test_an_ended_worker_is_dropped_unless_open_or_pinned():
    wl, tasks, _ = build(info("a", "running"), info("b", "running"), info("c", "running"))
    wl.rows()
    wl.open(key("a"))
    wl.toggle_pin(key("b"))
    for cid in ("a", "b", "c"):
        assert wl.worker_ended(tasks[key(cid)]) == key(cid)
    assert set(wl.watched) == {key("a"), key("b")}
    assert wl.watched[key("a")].worker is None
    assert wl.worker_ended(FakeTask()) is None


def test_gone_forgets_everything_and_closes_only_our_own_delete():
    wl, _, _ = build(info("a", "running"), info("b", "idle"))
    wl.rows()
    wl.toggle_pin(key("a"))
    wl.open(key("a"))
    wl.gone(key("a"))  # deleted by someone else: the view keeps showing it, marked deleted
    assert key("a") not in wl.watched and key("a") not in wl.pinned and wl.current == key("a")
    wl.open(key("b"))
    wl.deleting.add(key("b"))
    wl.gone(key("b"))
    assert wl.current is None


def test_row_shows_server_text_as_one_clean_line():
    wl, _, _ = build(info("a", "finished", title="\x1b[31mred\x1b[0m\ntitle"))
    row = wl.row(key("a"))
    assert row.title == "red title" and "\x1b" not in row.title
    assert row.cost == 0.25 and row.queued == 0 and row.status is ExecutionStatus.FINISHED
    assert row.last_activity is not None
    untitled = build(info("0123456789abcdef", "idle"))[0].row(key("0123456789abcdef"))
    assert untitled.title == "01234567"


def test_queued_messages_and_connection_show_in_the_row():
    wl, _, _ = build(info("a", "idle"))
    session = wl.watch(key("a"))
    session.outbox.add("later")
    row = wl.row(key("a"))
    assert row.queued == 1 and row.connection == "connecting"


def test_a_conversation_followed_before_its_status_is_known_is_no_news_when_it_arrives():
    """A pin followed again at start: its session starts UNKNOWN; the finished status it then reports is old."""
    wl, _, _ = build(info("pinned", "finished"), auto_watch=False)
    session = wl.watch(key("pinned"))
    session.rules.status = ExecutionStatus.UNKNOWN
    wl.last_status[key("pinned")] = ExecutionStatus.UNKNOWN
    assert wl.saw_status(key("pinned"), ExecutionStatus.FINISHED) is None
    assert not wl.attention
    assert wl.saw_status(key("pinned"), ExecutionStatus.RUNNING) is None
    assert wl.saw_status(key("pinned"), ExecutionStatus.ERROR) is not None, "a real change afterwards is news"
