"""Exports and `watch` lines carry the risk of each action and the security analyzer's verdicts (1.58)."""

from __future__ import annotations

from tests.transcripts import TRANSCRIPTS_158, lines
from tui.headless.export import event_summary, to_markdown
from tui.protocol import ConversationInfo, SecurityAnalysisEvent, SecurityRisk, parse_event


def recorded_history():
    """The full REST history and the conversation of the risk_confirmation recording."""
    events, info = None, None
    for line in lines(TRANSCRIPTS_158 / "risk_confirmation.jsonl"):
        if line["channel"] != "rest" or line.get("status") != 200:
            continue
        route = line["path"].split("?")[0]
        if route.endswith("/events/search") and "?" not in line["path"]:
            events = [parse_event(item) for item in line["body"]["items"]]
            cid = route.split("/")[3]
        elif isinstance(line["body"], dict) and "execution_status" in line["body"] and "workspace" in line["body"]:
            info = line["body"]
    assert events is not None and info is not None
    return ConversationInfo.model_validate({**info, "id": cid}), events


def test_markdown_export_shows_risks_and_analyses():
    info, events = recorded_history()
    md = to_markdown(info, events)
    assert "### Action: terminal" in md
    assert md.count("— risk: HIGH") == 2  # the two HIGH commands (approved, then rejected)
    assert md.count("— risk: LOW") == 1
    assert md.count("*Security analysis (LLMSecurityAnalyzer): high risk*") == 2
    assert md.count("*Security analysis (LLMSecurityAnalyzer): low risk*") == 1
    assert "risk: UNKNOWN" not in md  # `finish` is never analysed: nothing to say


def test_watch_lines_show_risks_and_analyses():
    _, events = recorded_history()
    analyses = [e for e in events if isinstance(e, SecurityAnalysisEvent)]
    assert [event_summary(a) for a in analyses] == [
        "security analysis: low risk (LLMSecurityAnalyzer)",
        "security analysis: high risk (LLMSecurityAnalyzer)",
        "security analysis: high risk (LLMSecurityAnalyzer)",
    ]
    risky = [event_summary(e) for e in events if getattr(e, "risk", None) is SecurityRisk.HIGH]
    assert risky and all(line.startswith("terminal (high-risk command (simulated)) [risk HIGH]: ") for line in risky)


def test_analyzer_text_is_data_on_the_way_out():
    event = parse_event(
        {
            "kind": "SecurityAnalysisEvent",
            "id": "s",
            "analyzer": "\x1b]8;;http://x\x07Evil\x1b[31m",
            "risks": {"a": "MEDIUM"},
        }
    )
    assert "\x1b" not in event_summary(event) and "medium risk" in event_summary(event)
