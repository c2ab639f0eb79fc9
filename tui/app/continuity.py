"""Where the user was, kept between runs: the open conversation, pins, sort, filter, unseen marks, the queued
conversations and each conversation's input history. No Textual here.

One JSON file in the state directory, written atomically (temp file + rename). A file of the wrong shape is
ignored (with a notice for the user), never a crash; a field of the wrong shape is dropped on its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "ui-state.json"
HISTORY_PER_CONVERSATION = 50
HISTORY_CONVERSATIONS = 200

Key = tuple[str, str]


def _keys(value: Any) -> list[Key]:
    if not isinstance(value, list):
        return []
    return [
        (item[0], item[1])
        for item in value
        if isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)
    ]


def _history(value: Any) -> dict[Key, list[str]]:
    if not isinstance(value, list):
        return {}
    result: dict[Key, list[str]] = {}
    for entry in value:
        if not isinstance(entry, dict):
            continue
        key = _keys([entry.get("key")])
        texts = entry.get("texts")
        if key and isinstance(texts, list):
            result[key[0]] = [text for text in texts if isinstance(text, str)][-HISTORY_PER_CONVERSATION:]
    return result


def _forms(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        return {}
    return {
        server: {k: v for k, v in form.items() if isinstance(k, str) and isinstance(v, str)}
        for server, form in value.items()
        if isinstance(server, str) and isinstance(form, dict)
    }


@dataclass(slots=True)
class UiState:
    last_open: Key | None = None
    pinned: list[Key] = field(default_factory=list)
    unseen: list[Key] = field(default_factory=list)
    queued: list[Key] = field(default_factory=list)  # conversations with messages still in their queue
    sort: str = ""
    filter: str = ""
    history: dict[Key, list[str]] = field(default_factory=dict)
    # Per server, what the last New-conversation form used: model, base_url, api_key_env, working_dir.
    new_conversation: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> tuple[UiState, str | None]:
        """The saved state, and a notice when the file was there but could not be used."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(), None
        except (OSError, ValueError, UnicodeDecodeError):
            return cls(), f"Ignored {path.name} (unreadable); starting afresh."
        if not isinstance(raw, dict):
            return cls(), f"Ignored {path.name} (not the expected shape); starting afresh."
        last = _keys([raw.get("last_open")])
        return (
            cls(
                last_open=last[0] if last else None,
                pinned=_keys(raw.get("pinned")),
                unseen=_keys(raw.get("unseen")),
                queued=_keys(raw.get("queued")),
                sort=raw["sort"] if isinstance(raw.get("sort"), str) else "",
                filter=raw["filter"] if isinstance(raw.get("filter"), str) else "",
                history=_history(raw.get("history")),
                new_conversation=_forms(raw.get("new_conversation")),
            ),
            None,
        )

    def to_json(self) -> dict[str, Any]:
        history = [
            {"key": list(key), "texts": texts[-HISTORY_PER_CONVERSATION:]}
            for key, texts in list(self.history.items())[-HISTORY_CONVERSATIONS:]
            if texts
        ]
        return {
            "last_open": list(self.last_open) if self.last_open else None,
            "pinned": [list(key) for key in self.pinned],
            "unseen": [list(key) for key in self.unseen],
            "queued": [list(key) for key in self.queued],
            "sort": self.sort,
            "filter": self.filter,
            "history": history,
            "new_conversation": self.new_conversation,
        }

    def save(self, path: Path) -> None:
        """Atomically; a read-only state directory costs the memory, never the app."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ui-state-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_json(), fh)
            os.replace(tmp, path)
        except OSError:
            pass


def resolve_prefix(prefix: str, keys: list[Key]) -> tuple[Key | None, str | None]:
    """The one conversation whose id starts with `prefix`: (key, None), else (None, why not)."""
    found = [key for key in keys if key[1].startswith(prefix) or key[1].replace("-", "").startswith(prefix)]
    if len(found) == 1:
        return found[0], None
    if not found:
        return None, f"No conversation id starts with {prefix!r}."
    return None, f"{len(found)} conversations start with {prefix!r}; give more of the id."


__all__ = ["FILE_NAME", "UiState", "resolve_prefix"]
