"""Access to the recorded real-server transcripts copied into tests/data (test data, not run-time data)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"  # agent server 1.43.1
TRANSCRIPTS_158 = Path(__file__).parent / "data" / "transcripts-1.58"  # agent server 1.58.2


def transcript_files(folder: Path = TRANSCRIPTS) -> list[Path]:
    return sorted(folder.glob("*.jsonl"))


def lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as fh:
        for raw in fh:
            if raw.strip():
                yield json.loads(raw)


def ws_frames(path: Path) -> Iterator[dict[str, Any]]:
    for line in lines(path):
        if line["channel"] == "ws" and line["method"] == "recv" and isinstance(line.get("body"), dict):
            yield line["body"]


def rest_event_bodies(path: Path) -> Iterator[dict[str, Any]]:
    """Every event object inside a REST response: search pages and get-one."""
    for line in lines(path):
        if line["channel"] != "rest" or line.get("status") != 200:
            continue
        body, route = line.get("body"), line["path"].split("?")[0]
        if route.endswith("/events/search") and isinstance(body, dict):
            yield from body["items"]
        elif "/events/" in route and isinstance(body, dict) and "kind" in body:
            yield body


def ws_events(path: Path) -> Iterator[dict[str, Any]]:
    """Every event received over a WebSocket: events-socket frames as they are, and the ``event`` of the
    session socket's ``durable`` / ``transient`` envelopes (1.58)."""
    for frame in ws_frames(path):
        if frame.get("type") in ("durable", "transient") and "event" in frame:
            yield frame["event"]
        elif "kind" in frame and "source" in frame:
            yield frame


def session_frames(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(socket label, frame) for every session-socket frame of a 1.58 recording, in order."""
    for line in lines(path):
        body = line.get("body")
        if line["channel"] == "ws" and line["method"] == "recv" and isinstance(body, dict):
            if "/sockets/session/" in line.get("path", "") or (body.get("type") and "source" not in body):
                yield line["label"], body
