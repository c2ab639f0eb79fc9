"""What an app on a pty repaints: the log written by `bench.apps` with `BENCH_REFRESH_LOG` (every frame's spans and
bytes, every `Widget.refresh` call with its caller), summarised over a time window."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any


def _owner(regions: dict[str, list[int]], x: int, y: int) -> str:
    """The smallest named region holding the cell (x, y)."""
    best, area = "other", None
    for name, (rx, ry, w, h) in regions.items():
        if rx <= x < rx + w and ry <= y < ry + h and (area is None or w * h < area):
            best, area = name, w * h
    return best


def summarize(path: str | Path, start: float, end: float, top: int = 12) -> dict[str, Any]:
    """Frames, bytes and repaint requests between `start` and `end` (perf_counter, CLOCK_MONOTONIC of the app's
    process), per second; bytes attributed to widgets in proportion to the cells of each span they hold."""
    try:
        log = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"error": "no paint log"}
    seconds = max(1e-3, end - start)
    regions = log.get("regions", {})
    frames = [f for f in log.get("frames", []) if start <= f[0] < end]
    by_widget: collections.Counter = collections.Counter()
    rows_by_widget: collections.Counter = collections.Counter()
    kinds: collections.Counter = collections.Counter()
    for _t, kind, spans, nbytes in frames:
        kinds[kind] += 1
        cells = sum(max(1, x2 - x1) for _y, x1, x2 in spans) or 1
        for y, x1, x2 in spans:
            owner = _owner(regions, x1, y)
            by_widget[owner] += nbytes * max(1, x2 - x1) / cells
            rows_by_widget[owner] += 1
    refresh = collections.Counter(who for t, who in log.get("refresh", []) if start <= t < end)
    total = sum(f[3] for f in frames)
    return {
        "seconds": round(seconds, 1),
        "bytes_per_s": round(total / seconds, 1),
        "frames_per_s": round(len(frames) / seconds, 2),
        "bytes_per_frame": round(total / len(frames), 1) if frames else 0,
        "frame_kinds": dict(kinds),
        "bytes_per_s_by_widget": {k: round(v / seconds, 1) for k, v in by_widget.most_common(top)},
        "rows_per_frame_by_widget": {k: round(v / max(1, len(frames)), 2) for k, v in rows_by_widget.most_common(top)},
        "refresh_calls_per_s": {k: round(v / seconds, 2) for k, v in refresh.most_common(top)},
        "regions": regions,
    }


def print_summary(title: str, s: dict[str, Any]) -> None:
    if "error" in s:
        print(f"  {title}: {s['error']}")
        return
    print(
        f"  {title}: {s['bytes_per_s']:.0f} B/s, {s['frames_per_s']:.1f} frames/s, {s['bytes_per_frame']:.0f} B/frame"
    )
    for k, v in s["bytes_per_s_by_widget"].items():
        print(f"    {v:9.1f} B/s  {s['rows_per_frame_by_widget'].get(k, 0):5.1f} rows/frame  {k}")
    for k, v in list(s["refresh_calls_per_s"].items())[:8]:
        print(f"    {v:6.2f} refresh/s  {k}")
