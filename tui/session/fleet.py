"""Several servers at once, each with its conversations.

There is no socket for list changes, so each server's list is polled: quickly while something runs there,
slowly when all is quiet, backing off while a server is unreachable. One server's trouble is its own state,
never fatal to the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from tui.client import AgentClient, AgentServerError, Dormant, NotFound, Unauthorized, Unreachable
from tui.config import ServerConfig
from tui.protocol import (
    ChildConversation,
    ConversationInfo,
    ExecutionStatus,
    ServerInfo,
    StartConversationRequest,
    ToolCatalog,
)

from .capacity import create_when_room
from .conversation import ConversationSession
from .outbox import OutboxStore
from .review import FileChange, load_changes
from .state_lock import lock_state_dir

log = logging.getLogger(__name__)

FAST_POLL = 2.0
SLOW_POLL = 10.0
MAX_BACKOFF = 60.0


class ServerState(StrEnum):
    CONNECTING = "connecting"
    OK = "ok"
    UNAUTHORIZED = "unauthorized"
    UNREACHABLE = "unreachable"
    DORMANT = "dormant"
    ERROR = "error"


@dataclass(slots=True)
class ServerEntry:
    config: ServerConfig
    client: AgentClient
    state: ServerState = ServerState.CONNECTING
    message: str = ""
    retry_at: float | None = None  # epoch seconds of the next poll while in trouble
    conversations: dict[str, ConversationInfo] = field(default_factory=dict)
    failures: int = 0
    next_poll: float = 0.0  # monotonic
    # Conversations this client created, by the (monotonic) time they were added: a poll that began before
    # that moment cannot list them yet, and must not report them as removed.
    added_at: dict[str, float] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # poll now (set by `Fleet.poke`)
    full: bool = False  # the server refused a run for lack of room lately (as last reported to the list)

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True, slots=True)
class FleetChange:
    server_name: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    server_changed: bool = False


def _fingerprint(info: ConversationInfo) -> tuple[object, ...]:
    runtime = info.runtime_info.runtime_status if info.runtime_info is not None else None
    return (info.execution_status, info.title, info.updated_at, info.usage.cost, runtime)


class Fleet:
    def __init__(
        self,
        servers: list[ServerConfig],
        *,
        state_dir: str | Path | None = None,
        client_factory: Callable[..., AgentClient] = AgentClient,
        fast_poll: float = FAST_POLL,
        slow_poll: float = SLOW_POLL,
        history_tail: int | None = 300,
    ) -> None:
        self.servers = [ServerEntry(cfg, client_factory(cfg.url, cfg.session_key)) for cfg in servers]
        # One window per state directory: a second one is read-only (`state_lock.problem` says so).
        self.state_lock = lock_state_dir(state_dir) if state_dir else None
        self.outbox_store = OutboxStore(Path(state_dir) / "outbox", lock=self.state_lock) if state_dir else None
        self.sessions: dict[tuple[str, str], ConversationSession] = {}
        # Sessions load the newest N events first; older ones page in when a view asks (`load_older`).
        self.history_tail = history_tail
        self.fast_poll = fast_poll
        self.slow_poll = slow_poll
        self._listeners: list[Callable[[FleetChange], None]] = []
        self._wake = asyncio.Event()
        self._server_info: dict[str, asyncio.Future[ServerInfo]] = {}

    def entry(self, server_name: str) -> ServerEntry:
        for entry in self.servers:
            if entry.name == server_name:
                return entry
        raise KeyError(server_name)

    def client(self, server_name: str) -> AgentClient:
        return self.entry(server_name).client

    def subscribe(self, callback: Callable[[FleetChange], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, change: FleetChange) -> None:
        for callback in list(self._listeners):
            try:
                callback(change)
            except Exception:
                log.exception("fleet listener failed")

    def session(self, server_name: str, conversation_id: str) -> ConversationSession:
        key = (server_name, conversation_id)
        session = self.sessions.get(key)
        if session is None:
            entry = self.entry(server_name)
            session = ConversationSession(
                entry.client,
                conversation_id,
                server_name=server_name,
                info=entry.conversations.get(conversation_id),
                outbox_store=self.outbox_store,
                history_tail=self.history_tail,
                server_info=functools.partial(self.server_info, server_name),
            )
            self.sessions[key] = session
        return session

    def forget(self, server_name: str, conversation_id: str) -> None:
        self.sessions.pop((server_name, conversation_id), None)
        entry = self.entry(server_name)
        if entry.conversations.pop(conversation_id, None) is not None:
            self._emit(FleetChange(server_name, removed=(conversation_id,)))

    def poke(self) -> None:
        """Poll every server now (after a create or delete, or when the user asks)."""
        for entry in self.servers:
            entry.next_poll = 0.0
            entry.wake.set()
        self._wake.set()

    async def refresh(self, server_name: str | None = None) -> None:
        entries = self.servers if server_name is None else [self.entry(server_name)]
        await asyncio.gather(*(self._refresh_one(e) for e in entries))

    def add_local(self, server_name: str, info: ConversationInfo) -> None:
        """A conversation this client just created: listed at once, before the next poll sees it."""
        entry = self.entry(server_name)
        entry.conversations.setdefault(info.id, info)
        entry.added_at[info.id] = time.monotonic()
        self._emit(FleetChange(server_name, added=(info.id,)))
        self.poke()

    async def _refresh_one(self, entry: ServerEntry) -> None:
        before = (entry.state, entry.message)
        started = time.monotonic()
        try:
            infos = await entry.client.search_conversations()
        except AgentServerError as error:
            entry.failures += 1
            entry.state = (
                ServerState.UNAUTHORIZED
                if isinstance(error, Unauthorized)
                else ServerState.DORMANT
                if isinstance(error, Dormant)
                else ServerState.UNREACHABLE
                if isinstance(error, Unreachable)
                else ServerState.ERROR
            )
            entry.message = error.message
            delay = min(self.slow_poll * 2 ** (entry.failures - 1), MAX_BACKOFF)
            if entry.state is ServerState.UNREACHABLE:
                delay = min(2.0 * 2 ** (entry.failures - 1), 30.0)
            entry.next_poll = time.monotonic() + delay
            entry.retry_at = time.time() + delay
            if (entry.state, entry.message) != before:
                self._emit(FleetChange(entry.name, server_changed=True))
            return
        entry.failures = 0
        entry.state, entry.message, entry.retry_at = ServerState.OK, "", None
        fresh = {info.id: info for info in infos}
        old = entry.conversations
        for cid, added_at in list(entry.added_at.items()):
            if cid in fresh or added_at < started - 60:
                del entry.added_at[cid]  # listed now (or long gone): an ordinary conversation from here on
            elif added_at >= started and cid in old:
                fresh[cid] = old[cid]  # created while this poll was under way
        added = tuple(cid for cid in fresh if cid not in old)
        removed = tuple(cid for cid in old if cid not in fresh)
        changed = tuple(cid for cid in fresh if cid in old and _fingerprint(fresh[cid]) != _fingerprint(old[cid]))
        for cid in fresh.keys() - added - set(changed):
            # Unchanged: the object already held stays (the one just parsed dies young). Replacing all of them
            # on every poll promoted ~100 objects' worth per server per poll into the oldest generation, and
            # the full collections that followed paused the UI for 0.1-0.2 s at a thousand conversations.
            fresh[cid] = old[cid]
        entry.conversations = fresh
        # A session's own read of its info can land after an earlier poll and hold older news than this one.
        changed += tuple(cid for cid in fresh if cid in old and cid not in changed and self._stale_session(entry, cid))
        for cid in added + changed:
            session = self.sessions.get((entry.name, cid))
            if session is not None:
                session.info = fresh[cid]
        busy = any(info.status.is_busy() for info in infos)
        entry.next_poll = time.monotonic() + (self.fast_poll if busy else self.slow_poll)
        full, was_full = entry.client.is_full(), entry.full
        entry.full = full
        server_changed = (entry.state, entry.message) != before or full != was_full
        if added or removed or changed or server_changed:
            self._emit(FleetChange(entry.name, added, removed, changed, server_changed))

    def _stale_session(self, entry: ServerEntry, cid: str) -> bool:
        session = self.sessions.get((entry.name, cid))
        info = session.info if session is not None else None
        return info is not None and _fingerprint(info) != _fingerprint(entry.conversations[cid])

    def counts(self) -> dict[ExecutionStatus, int]:
        counts: dict[ExecutionStatus, int] = {}
        for entry in self.servers:
            for info in entry.conversations.values():
                counts[info.status] = counts.get(info.status, 0) + 1
        return counts

    async def run(self) -> None:
        """Poll forever (the body of the fleet's worker): each server in its own task, so one slow or hung
        server never holds up the polling of the others (and each request has its own deadline)."""
        tasks = [asyncio.create_task(self._poll_forever(entry)) for entry in self.servers]
        try:
            if tasks:
                await asyncio.gather(*tasks)
            else:
                await asyncio.Event().wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _poll_forever(self, entry: ServerEntry) -> None:
        while True:
            if entry.next_poll <= time.monotonic() or entry.wake.is_set():
                entry.wake.clear()
                try:
                    await self._refresh_one(entry)
                except Exception:  # a bug on one server's answer must not stop its polling for good
                    log.exception("polling %s failed", entry.name)
                    entry.next_poll = time.monotonic() + self.slow_poll
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(entry.wake.wait(), max(0.2, entry.next_poll - time.monotonic()))

    async def aclose(self) -> None:
        for entry in self.servers:
            with contextlib.suppress(Exception):
                await entry.client.aclose()
        if self.state_lock is not None:
            self.state_lock.release()

    # ------------------------------------------------------------------ conversations (the UI and the verbs)

    @classmethod
    def over(cls, server: ServerConfig, client: AgentClient) -> Fleet:
        """A fleet of one server around a client that already exists (a headless verb's), never polled."""
        return cls([server], client_factory=lambda *_: client)

    async def create(
        self,
        server_name: str,
        request: StartConversationRequest,
        *,
        on_full: Callable[[bool], None] | None = None,
    ) -> ConversationInfo:
        """Start a conversation; it is listed at once (before the next poll sees it). With `on_full`, a full server
        (429: nothing was created) is asked again with the same conversation id until it has room, `on_full(True)`
        saying so while it waits."""
        client = self.client(server_name)
        if on_full is not None:
            info = await create_when_room(client, request, on_wait=on_full)
        else:
            info = await client.create_conversation(request)
        self.add_local(server_name, info)
        return info

    async def rename(self, server_name: str, conversation_id: str, title: str) -> None:
        await self.client(server_name).rename_conversation(conversation_id, title)
        session = self.sessions.get((server_name, conversation_id))
        if session is not None:
            await session.refresh_info()
        self.poke()

    async def delete(self, server_name: str, conversation_id: str) -> None:
        await self.client(server_name).delete_conversation(conversation_id)
        self.forget(server_name, conversation_id)
        self.poke()

    async def server_info(self, server_name: str) -> ServerInfo:
        """What a server is and can do (asked once per server, then remembered)."""
        known = self._server_info.get(server_name)
        if known is None or (known.done() and (known.cancelled() or known.exception() is not None)):
            # One question in flight per server, whoever asks (the sessions opening, the view); a failure is
            # asked again next time.
            known = self._server_info[server_name] = asyncio.ensure_future(self.client(server_name).server_info())
        return await asyncio.shield(known)

    async def create_child(
        self, server_name: str, parent_id: str, task: str, title: str | None = None, isolation: str | None = None
    ) -> ChildConversation:
        """Start a child conversation of `parent_id` on `task` (it runs at once); listed by the next poll."""
        child = await self.client(server_name).create_child(parent_id, task, title, isolation)
        self.poke()
        return child

    async def changes(self, server_name: str, conversation_id: str, working_dir: str) -> list[FileChange]:
        """What the agent changed under its working directory, each file with its hunks (1.58 git routes)."""
        return await load_changes(self.client(server_name), conversation_id, working_dir)

    async def tools_catalog(self, server_name: str) -> ToolCatalog | None:
        """The tools a server offers for a new conversation (agent server 1.58); None when it has no catalog."""
        try:
            return await self.client(server_name).tools_catalog()
        except NotFound:
            return None

    async def reprovision(self, server_name: str, conversation_id: str) -> str:
        """Ask the server to bring a conversation's runtime back (1.58); what is still wrong ("" when usable). The
        open session's info is read again, so the status bar follows."""
        runtime = await self.client(server_name).reprovision(conversation_id)
        session = self.sessions.get((server_name, conversation_id))
        if session is not None:
            await session.refresh_info()
        self.poke()  # the list row follows too
        return runtime.problem

    async def count_events(self, server_name: str, conversation_id: str) -> int:
        """How many events the server holds for a conversation."""
        return await self.client(server_name).count_events(conversation_id)
