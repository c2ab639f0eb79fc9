"""The client-side message queue of one conversation.

The real server does not reliably answer a message that lands while the LLM writes the reply that ends the
turn, so the client owns the queue: a message typed while the agent is busy waits here, visible and editable,
and the session delivers the head when the turn ends. Every change is written to disk atomically before it
takes effect, so a restart of the app loses nothing; an item caught mid-send is checked against the server's
history before it is sent again, so nothing is sent twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path


class ItemState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # the POST may or may not have reached the server
    # A full server stored the message (429 "Message saved") without starting a run: the run is started when a
    # slot frees; the text is never sent again.
    STARTING = "server full, starting…"


@dataclass(slots=True)
class OutboxItem:
    text: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)
    state: ItemState = ItemState.QUEUED
    # Ids of user messages with the same text already in the history when the send began: a match that is
    # not one of these is this item, delivered.
    known_ids: list[str] = field(default_factory=list)
    attempts: int = 0


class OutboxStore:
    """One JSON file per conversation under the state directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path_for(self, server_url: str, conversation_id: str) -> Path:
        server = hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:12]
        return self.directory / f"{server}-{conversation_id}.json"

    def load(self, server_url: str, conversation_id: str) -> list[OutboxItem]:
        path = self.path_for(server_url, conversation_id)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            # A damaged file must not lose the user's words silently: keep it aside for a person to read.
            path.replace(path.with_suffix(".damaged"))
            return []
        items = []
        for entry in raw.get("items", []):
            try:
                entry["state"] = ItemState(entry.get("state", "queued"))
                items.append(OutboxItem(**entry))
            except (TypeError, ValueError):
                continue
        return items

    def save(self, server_url: str, conversation_id: str, items: list[OutboxItem]) -> None:
        path = self.path_for(server_url, conversation_id)
        if not items:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"conversation_id": conversation_id, "items": [asdict(i) for i in items]})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".outbox-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class Outbox:
    def __init__(self, store: OutboxStore | None = None, server_url: str = "", conversation_id: str = "") -> None:
        self._store = store
        self._server_url = server_url
        self._conversation_id = conversation_id
        self.items: list[OutboxItem] = store.load(server_url, conversation_id) if store else []

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def _save(self) -> None:
        if self._store is not None:
            self._store.save(self._server_url, self._conversation_id, self.items)

    def get(self, item_id: str) -> OutboxItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def head(self) -> OutboxItem | None:
        return self.items[0] if self.items else None

    def add(self, text: str, *, front: bool = False) -> OutboxItem:
        item = OutboxItem(text=text)
        self.items.insert(0 if front else len(self.items), item)
        self._save()
        return item

    def edit(self, item_id: str, text: str) -> bool:
        item = self.get(item_id)
        if item is None or item.state is not ItemState.QUEUED or not text.strip():
            return False
        item.text = text
        self._save()
        return True

    def remove(self, item_id: str) -> bool:
        item = self.get(item_id)
        if item is None or item.state is not ItemState.QUEUED:
            return False
        self.items.remove(item)
        self._save()
        return True

    def move(self, item_id: str, delta: int) -> bool:
        item = self.get(item_id)
        if item is None or item.state is not ItemState.QUEUED:
            return False
        old = self.items.index(item)
        # Nothing moves ahead of an item that is being sent.
        floor = sum(1 for i in self.items if i.state is ItemState.SENDING)
        new = max(floor, min(len(self.items) - 1, old + delta))
        if new == old:
            return False
        self.items.insert(new, self.items.pop(old))
        self._save()
        return True

    def begin_send(self, item: OutboxItem, known_ids: list[str]) -> None:
        """Persisted before the POST: after a crash the item is known to be uncertain, not queued."""
        item.state = ItemState.SENDING
        item.known_ids = known_ids
        item.attempts += 1
        self._save()

    def delivered(self, item: OutboxItem) -> None:
        if item in self.items:
            self.items.remove(item)
            self._save()

    def requeue(self, item: OutboxItem) -> None:
        """The send certainly did not arrive: it goes back to the head of the queue."""
        item.state = ItemState.QUEUED
        if item in self.items:
            self.items.remove(item)
        self.items.insert(0, item)
        self._save()

    def uncertain(self) -> list[OutboxItem]:
        return [i for i in self.items if i.state is ItemState.SENDING]

    def starting(self, item: OutboxItem) -> None:
        """The server holds the message but has not started the run (full): kept, visibly, until it starts."""
        item.state = ItemState.STARTING
        self._save()
