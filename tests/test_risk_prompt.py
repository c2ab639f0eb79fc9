"""The confirmation prompt shows the risk of the pending action as the server's security analyzer judged it
(1.58 `SecurityAnalysisEvent`), over the action's own field; an unknown risk adds nothing to the line."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region

from tests.transcripts import TRANSCRIPTS_158, lines
from tui.app.widgets.confirmation import ConfirmationPanel
from tui.protocol import ActionEvent, parse_event, risk_of


class PromptApp(App):
    def compose(self) -> ComposeResult:
        yield ConfirmationPanel(id="confirmation")


def drawn(panel: ConfirmationPanel) -> str:
    """The panel's lines as they are on the screen."""
    region = Region(0, 0, panel.size.width, panel.size.height)
    return "\n".join(strip.text for strip in panel.render_lines(region))


def recorded_events() -> list:
    """The risk_confirmation recording, events socket of the first conversation, until it waits for approval."""
    events = []
    for line in lines(TRANSCRIPTS_158 / "risk_confirmation.jsonl"):
        if line["channel"] == "ws" and line["method"] == "recv" and "/sockets/events/" in line["path"]:
            event = parse_event(line["body"])
            events.append(event)
            if getattr(event, "key", None) == "execution_status" and event.value == "waiting_for_confirmation":
                break
    return events


async def test_the_prompt_shows_the_analyzers_risk_of_the_pending_action():
    events = recorded_events()
    pending = [e for e in events if isinstance(e, ActionEvent)][-1]
    async with PromptApp().run_test(size=(120, 20)) as pilot:
        panel = pilot.app.query_one(ConfirmationPanel)
        panel.set_actions([pending], True, {pending.id: risk_of(pending.id, events)})
        await pilot.pause()
        assert "risk: HIGH" in drawn(panel)

        # The analyzer's verdict wins over what the action itself says (another analyzer than the LLM's).
        quiet = pending.model_copy(update={"security_risk": "UNKNOWN"})
        panel.set_actions([quiet], True, {quiet.id: risk_of(quiet.id, events)})
        await pilot.pause()
        assert "risk: HIGH" in drawn(panel)

        # No analysis at all (a 1.43 server, or no analyzer): no risk on the line.
        panel.set_actions([quiet], True, {quiet.id: risk_of(quiet.id, [quiet])})
        await pilot.pause()
        assert "risk:" not in drawn(panel) and "terminal" in drawn(panel)
