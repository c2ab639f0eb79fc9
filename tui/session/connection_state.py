"""A followed conversation's link to its server, as the UI shows it (an enum alone: light to import)."""

from __future__ import annotations

from enum import StrEnum


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    RESYNCING = "resyncing"
    STOPPED = "stopped"
