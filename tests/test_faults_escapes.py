"""Every server string through one sanitiser, structurally: escape sequences (OSC 52 clipboard, OSC 0 title,
OSC 8 hyperlink, CSI, C1 controls), bidi overrides, zero-width and tag characters sent by a hostile server come
out of the error types, the socket's disconnect reasons, session notices and the markdown helper as plain text,
whoever shows them and however."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re

import pytest
from rich.console import Console
from websockets.asyncio.server import serve

from tests.hostile import HostileHTTP, Request, response
from tui.client import AgentClient, AgentServerError, Disconnected, EventStream, Stopped
from tui.sanitize import json_text, one_line, strip_control
from tui.session.changes import ChangeKind, SessionChange

EVIL = (
    "A \x1b]52;c;ZWNobyBwd25lZA==\x07 \x1b]0;pwned-title\x07 \x1b]8;;http://evil.example/\x07link\x1b]8;;\x07 "
    "\x1b[2J\x1b[31mred \x9b31m \x9d0;c1title\x9c \x90dcs\x9c \u202eesrever\u202c \u2066iso\u2069 z\u200bw\ufeffj "
    "t\U000e0041\U000e0042g Z"
)
GONE = ["ZWNobyBwd25lZA", "pwned-title", "c1title", "evil.example"]
CID = "3f2b8a8e-5a1d-4c4e-9a7e-1b2c3d4e5f60"
BAD = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\U000e0000-\U000e007f]"
)


def assert_safe(text: str, where: str) -> None:
    assert "\x1b" not in text, f"an escape sequence survives in {where}: {text!r}"
    assert not BAD.findall(text.replace("\n", "").replace("\t", "")), f"controls/bidi/tags survive in {where}"
    for payload in GONE:
        assert payload not in text, f"an escape sequence's payload survives in {where}"
    assert "A " in text and "Z" in text, f"{where} lost the ordinary text"


@pytest.mark.parametrize(
    "status,body",
    [
        (409, {"detail": EVIL}),
        (500, {"detail": "Internal Server Error", "exception": EVIL}),
        (422, {"detail": [{"loc": ["body", EVIL], "msg": EVIL}]}),
        (418, {"detail": EVIL}),
        (503, {"detail": EVIL}),
        (200, b"not json " + EVIL.encode()),
    ],
)
async def test_errors_from_a_hostile_server_hold_only_safe_text(status, body):
    async def answer(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(status, body))

    async with HostileHTTP(answer) as srv, AgentClient(srv.base_url) as client:
        with pytest.raises(AgentServerError) as caught:
            await client.count_conversations()
    error = caught.value
    for where, text in {"message": error.message, "str": str(error), "repr": repr(error)}.items():
        assert "\x1b" not in text and not BAD.findall(text), f"unsafe text in the error's {where}"
        for payload in GONE:
            assert payload not in text
    assert "\x1b" not in repr(error.detail) and not BAD.findall(str(error.detail))


def test_an_error_built_anywhere_is_sanitised_at_construction():
    error = AgentServerError(EVIL, 500, {"exception": EVIL, "nested": [EVIL]})
    assert_safe(error.message, "the message")
    assert_safe(str(error.detail), "the detail")


def test_session_notices_are_sanitised_at_construction():
    change = SessionChange(ChangeKind.NOTICE, CID, message=f"the server answered {EVIL}")
    assert_safe(change.message, "a notice")


async def test_a_close_reason_from_a_hostile_socket_is_safe():
    async def handler(ws) -> None:
        await ws.close(1011, "\x1b]0;pwned-title\x07A \x1b[2J\u202eZ")

    server = await serve(handler, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        stream = EventStream(f"http://127.0.0.1:{port}", CID, initial_backoff=0.05, max_backoff=0.1)
        reasons: list[str] = []

        async def collect() -> None:
            async for item in stream:
                if isinstance(item, (Disconnected, Stopped)):
                    reasons.append(item.reason)
                    break

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(collect(), 10)
        await stream.close()
    assert reasons and "1011" in reasons[0]
    assert "\x1b" not in reasons[0] and "pwned-title" not in reasons[0] and "\u202e" not in reasons[0]


def test_text_helpers_remove_bidi_invisible_and_tag_characters():
    for where, text in {
        "strip_control": strip_control(EVIL),
        "one_line": one_line(EVIL, 500),
    }.items():
        assert_safe(text, where)
    assert "esrever" in strip_control(EVIL) and "zwj" in strip_control(EVIL)  # the text itself is kept
    escaped = json_text({"t": EVIL})
    assert "\u202e" not in escaped and "\\u202e" in escaped  # JSON keeps the data, written as escapes


def test_zwj_emoji_and_flags_are_never_cut_or_broken():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    flag = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    assert strip_control(f"x {family} {flag} y") == f"x {family} {flag} y"
    for limit in range(2, 14):
        cut = one_line("ab" + family * 3, limit)
        assert len(cut) <= limit
        body = cut.rstrip("…")
        assert not body.endswith("\u200d"), f"a ZWJ sequence was cut at {limit}"
        assert body.count("\u200d") % 3 == 0, f"a family emoji was split at {limit}: {body!r}"


def test_markdown_never_makes_a_terminal_hyperlink():
    from tui.sanitize import markdown

    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system="truecolor")
    console.print(markdown(f"see [the docs](http://evil.example/steal) and <http://plain.example/> {EVIL}"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b]8" not in out, "a terminal hyperlink (OSC 8) was written"
    assert "\x1b]52" not in out and "\x1b]0" not in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert "the docs (http://evil.example/steal)" in plain, "a link's target is not shown next to its text"


def test_the_conversation_log_renders_agent_markdown_without_terminal_hyperlinks():
    from tui.app.widgets.event_log import _markdown

    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system="truecolor")
    console.print(_markdown(f"**done**: see [the docs](http://evil.example/steal) {EVIL}"))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b]8" not in out, "the log wrote a terminal hyperlink (OSC 8)"
    assert "\x1b]52" not in out and "\x1b]0" not in out
    assert "the docs (http://evil.example/steal)" in re.sub(r"\x1b\[[0-9;]*m", "", out)
