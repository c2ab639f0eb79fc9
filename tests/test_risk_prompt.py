"""The confirmation prompt shows the risk of the pending action, against the embedded server in 1.58 mode with a
security analyzer and a `ConfirmRisky` policy (a HIGH action waits; a LOW one runs without asking)."""

from __future__ import annotations

from textual.geometry import Region

from tests.snapshot_apps.harness import create, make_app, wait_for
from tui.client import AgentClient
from tui.protocol import ExecutionStatus, SecurityAnalysisEvent, SecurityRisk, risk_of

SIZE = (120, 36)


def drawn(widget) -> str:
    """A widget's lines as they are on the screen."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


async def test_the_prompt_shows_the_risk_the_analyzer_gave_the_pending_action(demo_server, tmp_path):
    app = make_app(demo_server.base_url, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        cid = await create(pilot, app)
        async with AgentClient(demo_server.base_url) as client:
            await client.set_security_analyzer(cid, {"kind": "LLMSecurityAnalyzer"})
            await client.set_confirmation_policy(cid, {"kind": "ConfirmRisky", "threshold": "HIGH"})
        app.view.input.focus()
        app.view.input.load_text("[risk] run the dangerous one")
        await pilot.press("enter")
        session = app.session
        await wait_for(pilot, lambda: session.status is ExecutionStatus.WAITING_FOR_CONFIRMATION, what="waiting")
        panel = app.view.confirmation
        await wait_for(pilot, lambda: "risk: HIGH" in drawn(panel), what="the risk in the prompt")
        assert "echo pretend-this-deletes-the-build-dir" in drawn(panel)

        # The same verdict the session's history gives (what exports and `watch` print).
        events = list(session.timeline)
        pending = [a.id for a in session.pending_actions()]
        assert pending and all(risk_of(a, events) is SecurityRisk.HIGH for a in pending)
        assert any(isinstance(e, SecurityAnalysisEvent) for e in events)
