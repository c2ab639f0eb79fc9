"""The list's family data (no Textual, no server): a child knows its listed parent, a parent its children's
statuses (from either side of the link), a fork its origin's title; links to what is not listed are ignored."""

from __future__ import annotations

from tests.snapshot_apps.fixed import info
from tui.config import ServerConfig
from tui.protocol import ExecutionStatus
from tui.session import Fleet, WatchList


def test_parents_children_and_forks_from_both_sides_of_the_link():
    fleet = Fleet([ServerConfig("a", "http://127.0.0.1:1")])
    rows = [
        info("p", "Parent", "running", 10).model_copy(update={"sub_conversation_ids": ["k2", "gone"]}),
        info("k1", "Child one", "waiting_for_confirmation", 5).model_copy(update={"parent_conversation_id": "p"}),
        info("k2", "Child two (listed by the parent only)", "error", 6),
        info("orphan", "Its parent is not listed", "idle", 7).model_copy(update={"parent_conversation_id": "nope"}),
        info("self", "Names itself", "idle", 8).model_copy(update={"parent_conversation_id": "self"}),
        info("f", "A fork", "idle", 9).model_copy(update={"forked_from_conversation_id": "p"}),
    ]
    fleet.servers[0].conversations = {r.id: r for r in rows}
    watchlist = WatchList(fleet, lambda key, session: (None, lambda: None), auto_watch=False)
    servers, _alerts = watchlist.rows()
    by_id = {row.id: row for row in servers[0].conversations}

    assert sorted(by_id["p"].children) == sorted([ExecutionStatus.WAITING_FOR_CONFIRMATION, ExecutionStatus.ERROR])
    assert by_id["k1"].parent == "p"
    assert by_id["orphan"].parent is None and by_id["self"].parent is None
    assert by_id["f"].forked_from == "p" and by_id["f"].forked_from_title == "Parent"

    # The next poll lists a new child: the index follows.
    fleet.servers[0].conversations = {
        **fleet.servers[0].conversations,
        "k3": info("k3", "Child three", "running", 1).model_copy(update={"parent_conversation_id": "p"}),
    }
    assert len(watchlist.row(("a", "p")).children) == 3
