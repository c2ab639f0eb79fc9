"""The list's lines after a full pass (a re-sort, a new row) show what the rows say now: a line drawn before is
kept only while its row, its age and its spinner frame are the same."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui.app.widgets.conversation_list import ConversationList
from tui.protocol import ExecutionStatus
from tui.session import ConvRow, ServerRow


class ListApp(App[None]):
    def __init__(self, clock) -> None:
        super().__init__()
        self.fleet_list = ConversationList(id="fleet", clock=clock)

    def compose(self) -> ComposeResult:
        yield self.fleet_list


def shown(app: ListApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_a_full_pass_redraws_what_changed_and_keeps_what_did_not():
    now = [1_000_000.0]
    app = ListApp(lambda: now[0])

    def servers(title: str, status: ExecutionStatus = ExecutionStatus.IDLE) -> list[ServerRow]:
        rows = [
            ConvRow("demo", "a" * 8, title, status=status, last_activity=999_970.0),
            ConvRow("demo", "b" * 8, "Steady one", last_activity=999_000.0),
        ]
        return [ServerRow("demo", state="ok", conversations=rows)]

    async with app.run_test(size=(60, 12)) as pilot:
        app.fleet_list.set_servers(servers("First title"))
        await pilot.pause()
        assert "First title" in shown(app) and "30s" in shown(app)
        steady = app.fleet_list._lines["c\x1fdemo\x1f" + "b" * 8][2]
        app.fleet_list.set_servers(servers("Second title"))
        await pilot.pause()
        assert "Second title" in shown(app) and "First title" not in shown(app)
        assert app.fleet_list._lines["c\x1fdemo\x1f" + "b" * 8][2] is steady  # unchanged: not built again
        now[0] += 120  # two minutes later the age says so on the next pass
        app.fleet_list.set_servers(servers("Second title"))
        await pilot.pause()
        assert "2m" in shown(app) and "30s" not in shown(app)
        frames = set()
        for _step in range(4):  # a running row's spinner turns on every pass
            now[0] += 0.125
            app.fleet_list.set_servers(servers("Second title", ExecutionStatus.RUNNING))
            await pilot.pause()
            frames.add(next(line for line in shown(app).splitlines() if "Second title" in line).strip()[:1])
        assert len(frames) == 4, frames
