"""Fuzzing the frame and response parsers (hypothesis, bounded): random and malformed JSON, wrong types, huge
strings, deep nesting, invalid UTF-8, unknown kinds. Nothing escapes: `decode_frame` and `parse_event` never
raise (and what they return can be rendered and exported), the REST client raises only `AgentServerError`
subclasses. A server that sends garbage frames does not kill the conversation worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import new_conversation
from tui.client import AgentClient, AgentServerError, EventStream, decode_frame
from tui.headless.export import event_markdown, to_json, to_markdown
from tui.protocol import EVENT_CLASSES, ConversationInfo, Event, UnknownEvent, parse_event
from tui.session import ConnectionState, ConversationSession

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
FEW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

KINDS = sorted(EVENT_CLASSES)
FIELDS = [
    "kind",
    "id",
    "timestamp",
    "source",
    "llm_message",
    "content",
    "role",
    "text",
    "action",
    "observation",
    "tool_name",
    "tool_call_id",
    "thought",
    "reasoning_content",
    "key",
    "value",
    "code",
    "detail",
    "error",
    "extended_content",
    "activated_skills",
    "security_risk",
    "summary",
    "command",
    "exit_code",
    "delta",
    "content_delta",
    "parent_id",
    "llm_response_id",
    "tool_call",
    "rejection_reason",
    "stats",
    "type",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.just("\x1b]52;c;aGk=\x07\x1b[2J[bold red]x[/]"),
    st.just(""),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {"kind": st.one_of(st.sampled_from(KINDS), st.text(max_size=20), json_values)},
    optional={name: json_values for name in FIELDS if name != "kind"},
)


def deep(n: int, leaf: object = 1) -> object:
    value = leaf
    for i in range(n):
        value = [value] if i % 2 else {"kind": "MessageEvent", "llm_message": value}
    return value


def deep_json(n: int) -> str:
    """Nested objects and arrays, `n` levels, built as text (json.dumps itself recurses)."""
    opens, closes = [], []
    for i in range(n):
        if i % 2:
            opens.append("[")
            closes.append("]")
        else:
            opens.append('{"kind": "MessageEvent", "llm_message": ')
            closes.append("}")
    return "".join(opens) + "1" + "".join(reversed(closes))


def exercise(event: Event) -> None:
    """What the app and the exports do with an event: none of it may raise."""
    assert isinstance(event, Event)
    event.to_wire()
    _ = event.is_transient, event.id, event.timestamp, event.kind
    event_markdown(event)
    try:
        from tui.app import render
    except Exception:  # the UI layer is optional for these tests
        return
    render.event_text(event)
    render.event_text(event, expanded=True)
    render.copy_text(event)
    render.plain_lines([event])


@FUZZ
@given(st.one_of(json_values, event_like))
def test_parse_event_never_raises(value):
    exercise(parse_event(value))


@FUZZ
@given(event_like)
def test_known_kinds_with_wrong_types(value):
    event = parse_event(value)
    exercise(event)
    if isinstance(value.get("kind"), str) and value["kind"] not in EVENT_CLASSES:
        assert isinstance(event, UnknownEvent)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        event_like.map(json.dumps),
        json_values.map(json.dumps),
        event_like.map(lambda d: json.dumps(d)[: max(1, len(json.dumps(d)) // 2)]),
    )
)
def test_decode_frame_never_raises(message):
    frame = decode_frame(message)
    exercise(frame.event)
    assert isinstance(frame.raw, dict)


@pytest.mark.parametrize(
    "message",
    ids=lambda m: f"{type(m).__name__}{len(m)}:{m[:16]!r}",
    argvalues=[
        b"\xff\xfe\x00garbage",
        b"\xc3\x28",
        "\ud800".encode("utf-8", "surrogatepass"),
        b"",
        "[" * 100_000,
        '{"a":' * 50_000,
        deep_json(400),
        deep_json(900),
        deep_json(3000),
        json.dumps(
            {
                "kind": "MessageEvent",
                "id": "x",
                "llm_message": {"role": "assistant", "content": [{"type": "text", "text": "A" * 3_000_000}]},
            }
        ),
        json.dumps({"kind": "ObservationEvent", "id": 5, "timestamp": [], "observation": "x" * 100_000}),
        json.dumps({"kind": "NoSuchKind", "id": "u1", "anything": {"deep": deep(50)}}),
        "null",
        "42",
        '"string"',
        "[]",
        "NaN",
        "Infinity",
        '{"kind": null}',
        '{"kind": {"x": 1}}',
    ],
)
def test_decode_frame_edge_cases(message):
    frame = decode_frame(message)
    exercise(frame.event)


# ------------------------------------------------------------------------------------- the REST client

CID = str(uuid.uuid4())


def _calls(client: AgentClient):
    return [
        lambda: client.health(),
        lambda: client.server_info(),
        lambda: client.init_status(),
        lambda: client.search_conversations(),
        lambda: client.count_conversations(),
        lambda: client.get_conversation(CID),
        lambda: client.get_conversations([CID, CID]),
        lambda: client.search_events(CID),
        lambda: client.all_events(CID),
        lambda: client.count_events(CID),
        lambda: client.get_event(CID, "e1"),
        lambda: client.final_response(CID),
        lambda: client.run(CID),
        lambda: client.pause(CID),
        lambda: client.interrupt(CID),
        lambda: client.send_message(CID, "hi"),
        lambda: client.delete_conversation(CID),
        lambda: client.rename_conversation(CID, "t"),
        lambda: client.respond_to_confirmation(CID, True),
    ]


bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "items": st.lists(st.one_of(event_like, json_values), max_size=3),
            "next_page_id": json_values,
            "detail": json_values,
            "exception": json_values,
            "id": json_values,
            "success": json_values,
            "execution_status": json_values,
            "title": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
    st.just(b"\xff\xfe not utf-8 {"),
    st.just(("[" * 5000).encode()),
)


@FEW
@given(
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 500, 502, 503, 599]),
    body=bodies,
    ctype=st.sampled_from(["application/json", "text/html", "application/json; charset=latin-1", ""]),
)
def test_rest_client_only_raises_agent_server_errors(status, body, ctype):
    async def main():
        def handler(request: httpx.Request) -> httpx.Response:
            headers = {"content-type": ctype} if ctype else {}
            return httpx.Response(status, content=body, headers=headers)

        async with AgentClient("http://fuzz.invalid:1", transport=httpx.MockTransport(handler)) as client:
            for call in _calls(client):
                try:
                    await call()
                except AgentServerError:
                    pass

    asyncio.run(main())


def test_rest_client_transport_failures_are_agent_server_errors():
    failures = [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("bye"),
        httpx.ReadError("reset"),
        httpx.WriteError("broken pipe"),
        httpx.PoolTimeout("pool"),
    ]

    async def main():
        for failure in failures:

            def handler(request: httpx.Request, failure=failure) -> httpx.Response:
                raise failure

            async with AgentClient("http://fuzz.invalid:1", transport=httpx.MockTransport(handler)) as client:
                for call in _calls(client):
                    with pytest.raises(AgentServerError):
                        await call()

    asyncio.run(main())


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd", "identity, gzip"])
def test_rest_client_bad_content_encoding(encoding):
    """A proxy or server that labels a plain body as compressed: httpx raises DecodingError while reading."""

    async def main():
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200,
                stream=httpx.ByteStream(b'{"items": [], "next_page_id": null}'),
                headers={"content-type": "application/json", "content-encoding": encoding},
            )

        async with AgentClient("http://fuzz.invalid:1", transport=httpx.MockTransport(handler)) as client:
            for call in _calls(client):
                try:
                    await call()
                except AgentServerError:
                    pass

    asyncio.run(main())


@FEW
@given(st.lists(st.one_of(event_like, json_values), max_size=6))
def test_exports_of_garbage_events(values):
    events = [parse_event(v) for v in values]
    info = ConversationInfo.model_validate({"id": CID})
    to_markdown(info, events, ("secret",))
    to_json(info, events, ("secret",))


# ------------------------------------------------------------------------------------- a garbage server

GARBAGE = [
    b"\xff\xfe\xfd binary, not UTF-8",
    "not json at all {",
    "[" * 20_000,
    json.dumps([1, 2, 3]),
    json.dumps("a string"),
    json.dumps({"kind": "MessageEvent", "id": 123, "llm_message": "wrong type"}),
    json.dumps({"kind": "ActionEvent", "id": "a-bad", "timestamp": "not a time", "action": [1, 2]}),
    json.dumps({"kind": "ConversationStateUpdateEvent", "key": "full_state", "value": "not a dict"}),
    json.dumps({"kind": "ConversationStateUpdateEvent", "id": "su", "key": "execution_status", "value": {"x": 1}}),
    json.dumps({"kind": "StreamingDeltaEvent", "content": None, "delta": 5}),
    json.dumps({"kind": "TotallyNewKind", "id": "new-kind-1", "timestamp": "2025-01-01T00:00:00"}),
    json.dumps({"kind": "MessageEvent", "llm_message": {"content": "x" * 1_000_000}}),
    deep_json(300),
    deep_json(5000),
]


async def test_garbage_frames_do_not_kill_the_worker(demo_server):
    import websockets.asyncio.server as ws_server

    valid_id = str(uuid.uuid4())
    valid = {
        "kind": "MessageEvent",
        "id": valid_id,
        "timestamp": "2099-01-01T00:00:00",
        "source": "agent",
        "llm_message": {"role": "assistant", "content": [{"type": "text", "text": "still alive"}]},
        "activated_skills": [],
        "extended_content": [],
    }
    connections = 0

    async def handler(ws):
        nonlocal connections
        connections += 1
        for frame in GARBAGE:
            await ws.send(frame)
        await ws.send(json.dumps(valid))
        with contextlib.suppress(Exception):
            await ws.wait_closed()

    async with ws_server.serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        async with AgentClient(demo_server.base_url) as client:
            cid = await new_conversation(client)
            session = ConversationSession(
                client, cid, stream_factory=lambda c, i: EventStream(f"http://127.0.0.1:{port}", i)
            )
            notices: list[str] = []
            session.subscribe(lambda ch: notices.append(ch.message) if ch.message else None)
            task = asyncio.create_task(session.run())
            try:
                assert await session.wait_until(lambda: valid_id in session.timeline, 15), (
                    session.connection,
                    notices,
                    task,
                )
                assert not task.done(), task
                assert session.connection.state is ConnectionState.LIVE
                assert connections == 1  # no reconnect either: garbage is skipped, not fatal
                assert any("malformed" in n for n in notices), notices
                # It keeps going: a real turn over REST still settles (frames from our server are garbage-only).
                await session.refresh_info()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
