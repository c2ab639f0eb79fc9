"""`AgentClient` against what agent server 1.58.2 answers: a full server (429), the changed status codes, and the
new routes (runtime, children, git, tool catalog, policy). The answers are the recorded ones, served over real
loopback sockets by a scripted server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.scripted_server import Reply, ScriptedServer
from tests.transcripts import TRANSCRIPTS_158, lines
from tui.client import (
    AgentClient,
    AgentServerError,
    InvalidRequest,
    NotFound,
    ServerFull,
    error_from_response,
)
from tui.protocol import StartConversationRequest

pytestmark = pytest.mark.timeout(30)

CID = "d25e8d5c-ee44-44ec-a00e-bacb769a4faf"
FULL = {"detail": "Conversation run limit reached. Retry the request later."}
SAVED = {
    "detail": f"Message saved, but the conversation run limit was reached. Retry POST /api/conversations/{CID}/run "
    "without resending the message."
}


def recorded(name: str, method: str, route_suffix: str, status: int = 200) -> Any:
    """The first recorded response body of that request in a 1.58.2 recording."""
    for line in lines(TRANSCRIPTS_158 / f"{name}.jsonl"):
        if (
            line["channel"] == "rest"
            and line["method"] == method
            and line.get("status") == status
            and line["path"].split("?")[0].endswith(route_suffix)
        ):
            return line["body"]
    raise LookupError((name, method, route_suffix, status))


def new_request() -> StartConversationRequest:
    return StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/ws")


# --------------------------------------------------------------------------------------------------------------
# capacity


async def test_every_429_is_server_full_and_is_never_retried():
    def full(method: str, path: str, body: Any) -> Reply:
        route = path.split("?")[0]
        if method == "POST" and route.endswith("/events"):
            return Reply(429, SAVED)
        return Reply(429, FULL)

    async with ScriptedServer(full) as srv, AgentClient(srv.url) as client:
        calls = {
            "create": lambda: client.create_conversation(new_request()),
            "send": lambda: client.send_message(CID, "hello"),
            "run": lambda: client.run(CID),
            "approve": lambda: client.respond_to_confirmation(CID, True),
            "child": lambda: client.create_child(CID, "[finish] a child task"),
        }
        errors: dict[str, ServerFull] = {}
        for name, call in calls.items():
            before = len(srv.requests)
            with pytest.raises(ServerFull) as info:
                await call()
            assert len(srv.requests) == before + 1, f"{name}: a 429 must not be retried by the client"
            errors[name] = info.value

    for name, error in errors.items():
        assert isinstance(error, AgentServerError) and error.status == 429
        assert error.message.startswith(f"server {srv.url} is at its run limit; "), error.message
        assert error.stored is (name == "send"), name
    assert "saved" in errors["send"].message and "do not resend" in errors["send"].message
    assert "nothing was started" in errors["create"].message
    # The server's own sentence is kept for whoever wants it.
    assert errors["send"].detail == SAVED["detail"]


def test_the_recorded_429s_map_to_server_full_stored_only_for_a_message():
    seen = 0
    for line in lines(TRANSCRIPTS_158 / "capacity_429.jsonl"):
        if line["channel"] != "rest" or line.get("status") != 429:
            continue
        request = httpx.Request(line["method"], "http://agent.test" + line["path"])
        error = error_from_response(httpx.Response(429, json=line["body"], request=request), route_kind="conversation")
        assert isinstance(error, ServerFull)
        assert error.stored is line["path"].endswith("/events"), line["path"]
        assert "run limit" in error.message and "http://agent.test" in error.message
        seen += 1
    assert seen == 6  # create, send, run, approve, children, goal


# --------------------------------------------------------------------------------------------------------------
# status codes


async def test_unknown_ids_are_not_found_with_the_158_status_codes():
    missing = str(uuid.uuid4())
    event_id = str(uuid.uuid4())

    async with (
        ScriptedServer(lambda m, p, b: Reply(404, {"detail": "Not Found"})) as srv,
        AgentClient(srv.url) as client,
    ):
        calls = {
            "pause": lambda: client.pause(missing),
            "interrupt": lambda: client.interrupt(missing),
            "delete": lambda: client.delete_conversation(missing),
            "rename": lambda: client.rename_conversation(missing, "new title"),
            "event": lambda: client.get_event(missing, event_id),
            "runtime": lambda: client.runtime(missing),
            "reprovision": lambda: client.reprovision(missing),
            "child": lambda: client.create_child(missing, "task"),
        }
        for name, call in calls.items():
            with pytest.raises(NotFound) as info:
                await call()
            assert info.value.status == 404, name
            assert missing in info.value.message and "was not found on" in info.value.message, name
    assert srv.seen("PATCH", missing)[0].body == {"title": "new title"}


async def test_a_blank_title_is_refused_before_it_is_sent():
    async with ScriptedServer(lambda m, p, b: Reply(200, {"success": True})) as srv, AgentClient(srv.url) as client:
        for blank in ("", "   ", "\t\n"):
            with pytest.raises(InvalidRequest) as info:
                await client.rename_conversation(CID, blank)
            assert "blank" in info.value.message
        assert srv.requests == []
        await client.rename_conversation(CID, "  spaced out  ")
    assert srv.requests[0].body == {"title": "spaced out"}  # stored stripped by 1.58: the same on every version


async def test_the_client_never_asks_for_more_than_100_items_or_99_ids():
    pages = {"": "p1", "p1": "p2", "p2": None}

    def paging(method: str, path: str, body: Any) -> Reply:
        query = httpx.URL(path).params
        nxt = pages[query.get("page_id", "")]
        if path.startswith("/api/conversations/search"):
            return Reply(200, {"items": [], "next_page_id": nxt})
        if "/events/search" in path:  # one event a page: an empty page that names a next one ends a listing
            return Reply(200, {"items": [{"id": f"e-{nxt}", "kind": "MessageEvent"}], "next_page_id": nxt})
        ids = query.get_list("ids")
        return Reply(200, [None] * len(ids))

    async with ScriptedServer(paging) as srv, AgentClient(srv.url) as client:
        await client.search_conversations()
        await client.all_events(CID)
        await client.search_events(CID)
        await client.get_conversations([str(uuid.uuid4()) for _ in range(250)])
    limits = [int(httpx.URL(r.path).params["limit"]) for r in srv.requests if "search" in r.path]
    assert len(limits) == 5 and max(limits) <= 100  # conversations: 1 (its empty page ends it), events: 3 + 1
    batches = [len(httpx.URL(r.path).params.get_list("ids")) for r in srv.requests if "ids=" in r.path]
    assert sum(batches) == 250 and max(batches) <= 99


async def test_limit_over_100_on_158_is_an_invalid_request_naming_the_limit():
    body = recorded("errors_158", "GET", "/api/conversations/search", 422)
    async with ScriptedServer(lambda m, p, b: Reply(422, body)) as srv, AgentClient(srv.url) as client:
        with pytest.raises(InvalidRequest) as info:
            await client.search_conversations(limit=101)
    assert "limit: Input should be less than or equal to 100" in info.value.message


# --------------------------------------------------------------------------------------------------------------
# the new routes, answered with the recorded bodies


async def test_runtime_and_reprovision():
    body = recorded("runtime_info", "GET", "/runtime")
    async with ScriptedServer(lambda m, p, b: Reply(200, body)) as srv, AgentClient(srv.url) as client:
        info = await client.runtime(CID)
        again = await client.reprovision(CID)
    assert info.is_usable and info.can_resume and again.runtime_status == "available"
    assert [(r.method, r.route) for r in srv.requests] == [
        ("GET", f"/api/conversations/{CID}/runtime"),
        ("POST", f"/api/conversations/{CID}/runtime/reprovision"),
    ]


async def test_create_child_sends_task_title_isolation_and_returns_the_child():
    body = recorded("children", "POST", "/children", 201)
    async with ScriptedServer(lambda m, p, b: Reply(201, body)) as srv, AgentClient(srv.url) as client:
        child = await client.create_child(CID, "[finish] child task: report done", "Child (shared)", "shared")
        await client.create_child(CID, "only a task")
        with pytest.raises(InvalidRequest):
            await client.create_child(CID, "   ")
        with pytest.raises(InvalidRequest):
            await client.create_child(CID, "task", isolation="container")
    assert (
        child.conversation_id == body["conversation_id"]
        and child.parent_conversation_id == body["parent_conversation_id"]
    )
    assert child.isolation == "shared"
    assert srv.requests[0].route == f"/api/conversations/{CID}/children"
    assert srv.requests[0].body == {
        "task": "[finish] child task: report done",
        "title": "Child (shared)",
        "isolation": "shared",
    }
    assert srv.requests[1].body == {"task": "only a task"}
    assert len(srv.requests) == 2  # the refused ones were never sent


async def test_git_changes_and_diff():
    changes = recorded("file_edit", "GET", "/git/changes")
    diff = recorded("file_edit", "GET", "/git/diff")

    def git(method: str, path: str, body: Any) -> Reply:
        return Reply(200, changes if "/git/changes" in path else diff)

    workdir = "/srv/agent/ws/file_edit"
    async with ScriptedServer(git) as srv, AgentClient(srv.url) as client:
        got = await client.git_changes(CID, workdir)
        one = await client.git_diff(CID, workdir + "/hello.py")
        await client.git_changes(CID, workdir, ref="HEAD")
    assert [(c.status, c.path) for c in got] == [(c["status"], c["path"]) for c in changes]
    assert one.original == "" and "def greet" in (one.modified or "")
    params = [dict(httpx.URL(r.path).params) for r in srv.requests]
    assert params == [{"path": workdir}, {"path": workdir + "/hello.py"}, {"path": workdir, "ref": "HEAD"}]


async def test_git_path_outside_the_workspace_reads_as_the_servers_reason():
    body = recorded("file_edit", "GET", "/git/changes", 422)
    async with ScriptedServer(lambda m, p, b: Reply(422, body)) as srv, AgentClient(srv.url) as client:
        with pytest.raises(InvalidRequest) as info:
            await client.git_changes(CID, "/elsewhere")
    assert "path must be inside the conversation workspace" in info.value.message


async def test_tools_catalog_and_policy_calls():
    catalog = recorded("tools_catalog", "GET", "/api/tools/catalog")

    def answer(method: str, path: str, body: Any) -> Reply:
        return Reply(200, catalog if path.startswith("/api/tools/catalog") else {"success": True})

    async with ScriptedServer(answer) as srv, AgentClient(srv.url) as client:
        got = await client.tools_catalog()
        await client.set_security_analyzer(CID, {"kind": "LLMSecurityAnalyzer"})
        await client.set_confirmation_policy(
            CID, {"kind": "ConfirmRisky", "threshold": "MEDIUM", "confirm_unknown": False}
        )
        await client.set_security_analyzer(CID, None)
    assert "terminal" in {t.name for t in got.offerable}
    assert [(r.route, r.body) for r in srv.requests[1:]] == [
        (f"/api/conversations/{CID}/security_analyzer", {"security_analyzer": {"kind": "LLMSecurityAnalyzer"}}),
        (
            f"/api/conversations/{CID}/confirmation_policy",
            {"policy": {"kind": "ConfirmRisky", "threshold": "MEDIUM", "confirm_unknown": False}},
        ),
        (f"/api/conversations/{CID}/security_analyzer", {"security_analyzer": None}),
    ]


async def test_new_routes_on_an_older_server_are_not_found():
    # A 1.43 server has none of these routes: a plain 404 from FastAPI.
    async with (
        ScriptedServer(lambda m, p, b: Reply(404, {"detail": "Not Found"})) as srv,
        AgentClient(srv.url) as client,
    ):
        with pytest.raises(NotFound) as info:
            await client.tools_catalog()
    assert "/api/tools/catalog" in info.value.message
