"""The JSON the verbs print is what docs/json.md documents: the shapes are read from that file and the real
output of `list`, `send`, `new`, `watch` and `search` against the embedded server is checked against them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fixtures_demo import FAST_KNOBS
from tests.test_cli import cli, new
from tui.demo.server import DemoServer

pytestmark = pytest.mark.timeout(180)
DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"
TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "null": type(None),
}


def documented_shapes() -> dict[str, object]:
    blocks = re.findall(r"```json shape=([\w-]+)\n(.*?)```", DOC.read_text(), re.DOTALL)
    return {name: json.loads(body) for name, body in blocks}


def check(value: object, shape: object, where: str = "$") -> None:
    if isinstance(shape, str):
        if shape == "any":
            return
        allowed = tuple(TYPES[t] for t in shape.split("|"))
        assert isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed), (
            f"{where}: {value!r} is not {shape}"
        )
        return
    if isinstance(shape, list):
        assert isinstance(value, list), f"{where}: not a list"
        for index, item in enumerate(value):
            check(item, shape[0], f"{where}[{index}]")
        return
    assert isinstance(shape, dict) and isinstance(value, dict), f"{where}: not an object"
    open_ended = "..." in shape
    keys = {k for k in shape if k != "..."}
    assert keys <= set(value), f"{where}: missing {sorted(keys - set(value))}"
    if not open_ended:
        assert set(value) == keys, f"{where}: undocumented keys {sorted(set(value) - keys)}"
    for key in keys:
        check(value[key], shape[key], f"{where}.{key}")


@pytest.fixture(scope="module")
def server():
    with DemoServer(**{**FAST_KNOBS, "slow_seconds": 6.0}) as srv:
        yield srv


def test_the_document_has_every_shape():
    assert set(documented_shapes()) == {"list", "send", "new", "watch", "watch-several", "search"}


def test_the_shape_checker_catches_a_wrong_output():
    shapes = documented_shapes()
    with pytest.raises(AssertionError):
        check({"conversation_id": "x", "extra": 1}, shapes["new"])
    with pytest.raises(AssertionError):
        check([{"id": 3}], shapes["list"])


def test_real_outputs_match_the_documented_shapes(server):
    shapes = documented_shapes()
    s = ("--server", server.base_url)
    created = cli(*s, "new", "--model", "m", "--workdir", "/tmp/w", "--json")
    check(json.loads(created.stdout), shapes["new"])
    cid = json.loads(created.stdout)["conversation_id"]
    sent = cli(*s, "send", cid, "[bash] look for Quetzal-7", "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    check(json.loads(sent.stdout), shapes["send"])
    not_waited = cli(*s, "send", cid, "[text] and again", "--json")
    check(json.loads(not_waited.stdout), shapes["send"])
    assert cli(*s, "watch", cid, "--until-done").returncode == 0
    timed_out = cli(*s, "send", cid, "[slow] slowly", "--wait", "--json", "--timeout", "3")
    assert timed_out.returncode == 124
    check(json.loads(timed_out.stdout), shapes["send"])
    waited_new = cli(*s, "new", "--model", "m", "--workdir", "/tmp/w", "[text] hi", "--wait", "--json")
    check(json.loads(waited_new.stdout), shapes["send"])
    assert cli(*s, "watch", cid, "--until-done").returncode == 0
    listed = json.loads(cli(*s, "list", "--json").stdout)
    assert listed
    check(listed, shapes["list"])
    for line in cli(*s, "watch", cid, "--json", "--until-done").stdout.splitlines():
        check(json.loads(line), shapes["watch"])
    other = new(server)
    several = cli(*s, "watch", cid, other, "--json", "--until-done").stdout.splitlines()
    assert several
    for line in several:
        check(json.loads(line), shapes["watch-several"])
    found = json.loads(cli(*s, "search", "quetzal-7", "--json").stdout)
    assert [f["id"] for f in found] == [cid]
    check(found, shapes["search"])
