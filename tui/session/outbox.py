"""The client-side message queue of one conversation.

The real server does not reliably answer a message that lands while the LLM writes the reply that ends the
turn, so the client owns the queue: a message typed while the agent is busy waits here, visible and editable,
and the session delivers the head when the turn ends. Every change is written to disk atomically before it
takes effect, so a restart of the app loses nothing; an item caught mid-send is checked against the server
(its count of user messages before the send and the user messages since, see `outbox_rules.arrival`) before it
is sent again, so nothing is sent twice. When the queue cannot be saved (a full or read-only disk, another window
holding the state directory's lock) its items stay in memory, `problem` says why, and the session holds the
queue until a later save succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .outbox_rules import Arrival, arrival, move_target
from .state_lock import StateLock, make_private_dir

if TYPE_CHECKING:
    from tui.client import AgentClient

PAGE_CAP = 50  # pages of user messages read to decide an arrival (5,000 messages since the send began)


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
    # The server's count of user messages when the send began, and the newest event timestamp held then (the
    # start of the window searched for it): what decides whether it arrived (None: an item from an old version).
    count_before: int | None = None
    since: str | None = None


class StoreError(Exception):
    """The queue could not be written (the message says why, for people)."""


_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def _from_json(entry: Any) -> OutboxItem:
    """One saved item; ValueError when it is not the shape we write."""
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
        raise ValueError("not an item")
    known = set(OutboxItem.__dataclass_fields__)
    values = {k: v for k, v in entry.items() if k in known}
    values["state"] = ItemState(values.get("state", "queued"))
    if not isinstance(values.get("known_ids", []), list) or not isinstance(values.get("attempts", 0), int):
        raise ValueError("bad fields")
    return OutboxItem(**values)


class OutboxStore:
    """One JSON file per conversation under the state directory, written only while this process holds the
    directory's lock (`lock=None`: no lock, e.g. a test's private directory)."""

    def __init__(self, directory: str | Path, lock: StateLock | None = None) -> None:
        self.directory = Path(directory)
        self.lock = lock
        self.notices: list[str] = []  # what a person should be told (a damaged file moved aside)

    def path_for(self, server_url: str, conversation_id: str) -> Path:
        server = hashlib.sha256(server_url.rstrip("/").encode()).hexdigest()[:12]
        # A conversation id comes from the server: only a plain id becomes part of a file name.
        name = (
            conversation_id
            if _SAFE_ID.fullmatch(conversation_id)
            else hashlib.sha256(conversation_id.encode()).hexdigest()[:32]
        )
        return self.directory / f"{server}-{name}.json"

    def _set_aside(self, path: Path, why: str) -> None:
        """A damaged file must not lose the user's words silently: it is kept, numbered, for a person to read."""
        for n in range(1, 1000):
            target = path.with_name(f"{path.stem}.damaged" + ("" if n == 1 else f".{n}"))
            if not target.exists():
                break
        with contextlib.suppress(OSError):
            path.replace(target)
            self.notices.append(f"a damaged queue file ({why}) was moved aside to {target}")

    def load(self, server_url: str, conversation_id: str) -> list[OutboxItem]:
        path = self.path_for(server_url, conversation_id)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError, RecursionError) as exc:
            self._set_aside(path, "not readable JSON" if not isinstance(exc, OSError) else str(exc))
            return []
        entries = raw.get("items") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            self._set_aside(path, "not a queue")
            return []
        items: list[OutboxItem] = []
        bad = 0
        for entry in entries:
            try:
                items.append(_from_json(entry))
            except (TypeError, ValueError):
                bad += 1
        if bad:
            # Keep the file as it was for a person; the good items carry on (and are written afresh).
            self._set_aside(path, f"{bad} unreadable item(s)")
        return items

    def writable(self) -> tuple[bool, bool]:
        """(may write now, the lock was only just taken: merge with what is on disk before writing)."""
        if self.lock is None or self.lock.held:
            return True, False
        return self.lock.acquire(), True

    def save(self, server_url: str, conversation_id: str, items: list[OutboxItem]) -> None:
        """Write atomically. Raises `StoreError` (with the reason) when it cannot."""
        if self.lock is not None and not self.lock.held:
            raise StoreError(self.lock.problem or "the state directory is locked by another window")
        path = self.path_for(server_url, conversation_id)
        try:
            self._write(path, conversation_id, items)
        except OSError as exc:
            raise StoreError(f"cannot write {path.parent} ({exc.strerror or exc})") from None

    def _write(self, path: Path, conversation_id: str, items: list[OutboxItem]) -> None:
        if not items:
            path.unlink(missing_ok=True)
            return
        make_private_dir(path.parent)
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
        # Why the queue is not saved right now (None: it is): the session holds the queue while this is set.
        self.problem: str | None = None
        if store is not None and store.lock is not None and not store.lock.held:
            self.problem = store.lock.problem

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def _save(self) -> bool:
        """Write the queue; on failure keep it in memory with `problem` set (never raises)."""
        store = self._store
        if store is None:
            return True
        may, just_locked = store.writable()
        if may and just_locked:
            self._merge_from_disk()
        try:
            store.save(self._server_url, self._conversation_id, self.items)
        except StoreError as error:
            self.problem = str(error)
            return False
        self.problem = None
        return True

    def _merge_from_disk(self) -> None:
        """The lock was just taken from another window: what it left on disk comes first, then ours."""
        assert self._store is not None
        disk = self._store.load(self._server_url, self._conversation_id)
        ids = {i.id for i in disk}
        self.items = disk + [i for i in self.items if i.id not in ids]

    def retry_save(self) -> bool:
        """Try again to write a queue that could not be saved. True when it is saved now."""
        return self.problem is None or self._save()

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
        new = move_target(old, delta, len(self.items), floor)
        if new == old:
            return False
        self.items.insert(new, self.items.pop(old))
        self._save()
        return True

    def begin_send(
        self, item: OutboxItem, known_ids: list[str], count_before: int | None = None, since: str | None = None
    ) -> bool:
        """Persisted before the POST: after a crash the item is known to be uncertain, not queued. False (and
        the item still queued) when that could not be saved: then it must not be sent."""
        item.state = ItemState.SENDING
        item.known_ids = known_ids
        item.count_before = count_before
        item.since = since
        item.attempts += 1
        if not self._save():
            item.state = ItemState.QUEUED
            item.attempts -= 1
            return False
        return True

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


async def arrived_on_server(client: AgentClient, conversation_id: str, item: OutboxItem) -> bool:
    """Ask the server whether `item` (caught mid-send) arrived: its count of user messages now against the one
    saved when the send began, and the user messages since the send began (searched on the server by source,
    not the loaded tail). Raises `AgentServerError` when the server cannot answer (ask again later)."""
    count_now = await client.count_events(conversation_id, kind="MessageEvent", source="user")
    if item.count_before is not None and count_now <= item.count_before:
        return False  # nothing arrived since: no need to read any page
    since: list[tuple[str, str]] = []
    page: str | None = None
    for _ in range(PAGE_CAP):
        events, page = await client.search_events(
            conversation_id, page_id=page, kind="MessageEvent", source="user", timestamp_gte=item.since
        )
        since.extend((e.id, getattr(e, "text", "")) for e in events)
        if not page:
            break
    verdict = arrival(
        item.text,
        count_before=item.count_before,
        count_now=count_now,
        user_messages_since=since,
        known_ids=item.known_ids,
    )
    return verdict is Arrival.ARRIVED
