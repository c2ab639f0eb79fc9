"""Pilot test: an editing tool the server lists in `server_info.usable_tools` (not one of the names known without
asking) shows its call as a diff when its arguments have the shape of an edit."""

from __future__ import annotations

import uuid

from tests.fixtures_demo import FAST_KNOBS
from tests.snapshot_apps.harness import make_app, wait_for
from tui.app import diffs
from tui.app.widgets.event_log import EventItem
from tui.client import AgentClient
from tui.demo import DemoServer, wire
from tui.protocol import StartConversationRequest

TOOL = "modify_source_file"  # a name no fixed list knows


def _edit_events() -> list[dict]:
    action = {
        "kind": "ActionEvent",
        "id": "act-server-tool",
        "timestamp": "2026-11-26T01:40:01.000",
        "source": "agent",
        "tool_name": TOOL,
        "tool_call_id": "call-server-tool",
        "action": {
            "kind": "ModifySourceFileAction",
            "file_path": "/repo/app/auth.py",
            "old_string": "    return token == expected\n",
            "new_string": "    return hmac.compare_digest(token, expected)\n",
        },
    }
    observation = {
        "kind": "ObservationEvent",
        "id": "obs-server-tool",
        "timestamp": "2026-11-26T01:40:01.500",
        "source": "environment",
        "tool_name": TOOL,
        "tool_call_id": "call-server-tool",
        "action_id": "act-server-tool",
        "observation": {"kind": "ModifySourceFileObservation", "content": [{"type": "text", "text": "edited"}]},
    }
    return [action, observation]


async def test_an_editing_tool_named_by_the_server_is_shown_as_a_diff(tmp_path, monkeypatch):
    assert TOOL not in diffs.EDIT_TOOLS
    listed = wire.server_info

    def server_info(*args, **kwargs):
        info = listed(*args, **kwargs)
        return {**info, "usable_tools": [*info["usable_tools"], TOOL]}

    monkeypatch.setattr(wire, "server_info", server_info)
    with DemoServer(**FAST_KNOBS) as srv:
        async with AgentClient(srv.base_url) as client:
            request = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/tools")
            cid = (await client.create_conversation(request)).id
        conversation = srv.state.store.get(uuid.UUID(cid))
        for event in _edit_events():  # stored before anyone follows the conversation
            conversation.emit(event)
        app = make_app(srv.base_url, tmp_path)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: cid in app.fleet.entry("demo").conversations, what="listed")
            await app.open_conversation("demo", cid)
            log = app.view.log_widget

            def tool_line() -> str:
                items = [i for i in log.items if isinstance(i, EventItem) and i.block.kind == "tool"]
                return items[-1].plain.split("\n")[0] if items else ""

            await wait_for(pilot, tool_line, what="the tool block")
            # Folded: the diff's counts, not the call's JSON arguments.
            await wait_for(pilot, lambda: "+1 \u22121" in tool_line(), what="the edit's counts")
            assert "auth.py" in tool_line() and "old_string" not in tool_line()
            # Unfolded: the removed and the added line.
            item = [i for i in log.items if isinstance(i, EventItem) and i.block.kind == "tool"][-1]
            shown = item.plain
            assert "-    return token == expected" in shown, shown
            assert "+    return hmac.compare_digest(token, expected)" in shown, shown
