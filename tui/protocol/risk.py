"""The security risk of an action (1.58+): the level, and where a client finds it in a conversation's events."""

from __future__ import annotations

from enum import StrEnum


class SecurityRisk(StrEnum):
    """`ActionEvent.security_risk` and the values of `SecurityAnalysisEvent.risks`, as the server spells them."""

    UNKNOWN = "UNKNOWN"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @classmethod
    def parse(cls, value: object) -> SecurityRisk:
        """Lenient: a missing or unknown value is UNKNOWN, never an exception."""
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def rank(self) -> int:
        """0 for UNKNOWN, then 1 (LOW) to 3 (HIGH): for sorting and thresholds."""
        return ("UNKNOWN", "LOW", "MEDIUM", "HIGH").index(self.value)


def risk_label(risk: SecurityRisk | None) -> str:
    """The risk as a person reads it in a prompt, a list or an export: "high risk", "risk unknown".

    UNKNOWN is what every action gets on a conversation without a security analyzer, so it says nothing about the
    action itself; None (nothing known at all, e.g. a 1.43 server) reads the same way."""
    if risk is None or risk is SecurityRisk.UNKNOWN:
        return "risk unknown"
    return f"{risk.value.lower()} risk"
