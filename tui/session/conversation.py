"""One conversation, followed live: the body of its worker, without Textual.

`run()` keeps the WebSocket open (the stream reconnects by itself), syncs history over REST after every
(re)connect, applies frames as they come, tracks status, usage and the turn in progress, and delivers the
outbox. Listeners get a `SessionChange` for everything a view may want to redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tui.client import (
    AgentClient,
    AgentServerError,
    Connected,
    Disconnected,
    Frame,
    NotFound,
    Stopped,
    Unauthorized,
    Unreachable,
)
from tui.protocol import (
    ActionEvent,
    AgentErrorEvent,
    ConversationErrorEvent,
    ConversationInfo,
    ConversationState,
    ConversationStateUpdateEvent,
    Event,
    ExecutionStatus,
    InterruptEvent,
    MessageEvent,
    ServerErrorEvent,
    StreamingDeltaEvent,
    UnknownEvent,
    UsageTotals,
)
from tui.sanitize import one_line

from .changes import ChangeKind, SessionChange
from .outbox import ItemState, Outbox, OutboxItem, OutboxStore
from .timeline import MergeResult, Timeline
from .tokens import TokenBuffer

log = logging.getLogger(__name__)

# Reconcile windows start this far before the newest event held: some events (stats, errors) carry a
# timestamp earlier than events published before them.
RECONCILE_MARGIN = timedelta(seconds=30)
MAX_BATCH = 500


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    RESYNCING = "resyncing"
    STOPPED = "stopped"


@dataclass(slots=True)
class Connection:
    state: ConnectionState = ConnectionState.CONNECTING
    reason: str = ""
    retry_at: float | None = None  # epoch seconds of the next attempt while reconnecting
    attempt: int = 0
    error: AgentServerError | None = None


@dataclass(slots=True)
class Turn:
    active: bool = False
    started_at: float | None = None  # epoch seconds, for the elapsed-time display
    saw_running: bool = False
    interrupting: bool = False
    item_id: str | None = None  # the outbox item that started this turn, if we did
    item_text: str | None = None
    # The newest user message before this turn: a snapshot still naming it predates the turn.
    prior_user_message_id: str | None = None
    since: str | None = None  # newest event timestamp held when the turn began (reconcile window)
    generation: int = 0


def _earlier(timestamp: str | None, delta: timedelta) -> str | None:
    if not timestamp:
        return None
    try:
        return (datetime.fromisoformat(timestamp) - delta).isoformat()
    except ValueError:
        return None


def _default_stream(client: AgentClient, conversation_id: str):
    return client.event_stream(conversation_id)


class ConversationSession:
    def __init__(
        self,
        client: AgentClient,
        conversation_id: str,
        *,
        server_name: str = "",
        info: ConversationInfo | None = None,
        outbox_store: OutboxStore | None = None,
        stream_factory: Callable[..., Any] | None = None,
        history_tail: int | None = None,
    ) -> None:
        self.client = client
        self.id = conversation_id
        self.server_name = server_name
        self.info = info
        self.timeline = Timeline()
        self.status = info.status if info else ExecutionStatus.UNKNOWN
        self.usage = info.usage if info else UsageTotals()
        self.confirms_actions = info.confirms_actions if info else False
        self.tokens = TokenBuffer()
        self.connection = Connection()
        self.turn = Turn()
        self.outbox = Outbox(outbox_store, client.base_url, conversation_id)
        # Why the queue is not being delivered although the agent is not busy (None: it is delivered).
        self.hold: str | None = None
        # Terminal status of each turn an outbox item started, by item id (what `send --wait` waits for).
        self.settled: dict[str, ExecutionStatus] = {}
        # (client, conversation_id) -> an EventStream; the client holds the key, so it builds the stream.
        self._stream_factory = stream_factory or _default_stream
        self._stream: Any = None
        self._listeners: list[Callable[[SessionChange], None]] = []
        self._changed = asyncio.Event()
        self._synced_once = False
        self._sending: OutboxItem | None = None
        self._tasks: set[asyncio.Task] = set()
        self._malformed_frames = 0
        self._batch: MergeResult | None = None  # while a batch of frames is applied
        # None: load the whole history on the first sync. N: load only the newest N events first (a view shows
        # the tail at once) and the rest page by page through `load_older()`.
        self.history_tail = history_tail
        self._older_cursor: str | None = None

    # ------------------------------------------------------------------ observers

    @property
    def title(self) -> str:
        """For display and messages: one line, escape sequences stripped (server text is data)."""
        if self.info and self.info.title:
            return one_line(self.info.title, 80) or self.id[:8]
        return self.id[:8]

    def subscribe(self, callback: Callable[[SessionChange], None]) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, kind: ChangeKind, **kwargs: Any) -> None:
        change = SessionChange(kind, self.id, **kwargs)
        for callback in list(self._listeners):
            try:
                callback(change)
            except Exception:  # a broken view must not stop the conversation
                log.exception("session listener failed")
        self._changed.set()
        self._changed = asyncio.Event()

    def _notice(self, message: str, severity: str = "warning") -> None:
        self._emit(ChangeKind.NOTICE, message=message, severity=severity)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until `predicate()` holds after some change; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not predicate():
            if self.connection.state is ConnectionState.STOPPED and not predicate():
                return predicate()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            waiter = self._changed
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter.wait(), remaining)
        return True

    async def wait_live(self, timeout: float = 15.0) -> bool:
        return await self.wait_until(lambda: self.connection.state is ConnectionState.LIVE, timeout)

    def pending_actions(self) -> list[ActionEvent]:
        if self.status is not ExecutionStatus.WAITING_FOR_CONFIRMATION:
            return []
        return self.timeline.pending_actions()

    # ------------------------------------------------------------------ the worker body

    async def run(self) -> None:
        """Follow the conversation until cancelled or the server refuses it for good (bad key, deleted)."""
        stream = self._stream_factory(self.client, self.id)
        self._stream = stream
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        async def pump() -> None:
            # Frames are buffered here while a REST sync runs, so the socket is always read (pings work).
            try:
                async for item in stream:
                    queue.put_nowait(item)
            finally:
                queue.put_nowait(done)

        pump_task = asyncio.create_task(pump())
        try:
            pending = None
            while True:
                item, pending = (pending if pending is not None else await queue.get()), None
                if item is done:
                    break
                if isinstance(item, Frame):
                    # Frames that arrived together are applied together: one EVENTS change for the lot.
                    frames = [item.event]
                    while len(frames) < MAX_BATCH and not queue.empty():
                        following = queue.get_nowait()
                        if not isinstance(following, Frame):
                            pending = following
                            break
                        frames.append(following.event)
                    self._on_frames(frames)
                elif isinstance(item, Connected):
                    await self._on_connected()
                elif isinstance(item, Disconnected):
                    self._set_connection(
                        ConnectionState.RECONNECTING,
                        item.reason,
                        retry_at=time.time() + item.retry_in,
                        attempt=item.attempt,
                    )
                elif isinstance(item, Stopped):
                    self._stop(item.reason, item.error)
                    break
            if pump_task.done() and not pump_task.cancelled() and pump_task.exception():
                raise pump_task.exception()  # type: ignore[misc]
        finally:
            pump_task.cancel()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await stream.close()
            if self.connection.state is not ConnectionState.STOPPED:
                self._set_connection(ConnectionState.STOPPED, "closed")

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            message = error.message if isinstance(error, AgentServerError) else f"{type(error).__name__}: {error}"
            self._notice(message, "error")

    def _set_connection(self, state: ConnectionState, reason: str = "", **kwargs: Any) -> None:
        self.connection = Connection(state, reason, **kwargs)
        self._emit(ChangeKind.CONNECTION)

    def _stop(self, reason: str, error: AgentServerError | None) -> None:
        self._set_connection(ConnectionState.STOPPED, reason, error=error)
        self._notice(f"{self.title}: {reason}", "error")

    async def _on_connected(self) -> None:
        """Socket open: sync history over REST (frames keep buffering meanwhile), then go live."""
        first = not self._synced_once
        self._set_connection(
            ConnectionState.CONNECTING if first else ConnectionState.RESYNCING,
            "loading history" if first else "catching up",
        )
        delay = 1.0
        while True:
            try:
                await self._sync(full=first)
                break
            except (NotFound, Unauthorized) as error:
                self._stop(error.message, error)
                if self._stream is not None:
                    await self._stream.close()
                return
            except AgentServerError as error:
                self._set_connection(ConnectionState.RESYNCING, error.message, retry_at=time.time() + delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self._synced_once = True
        self._set_connection(ConnectionState.LIVE)
        self._resolve_uncertain()
        self._maybe_deliver()

    @property
    def has_older(self) -> bool:
        """Older history exists on the server that is not loaded yet."""
        return self._older_cursor is not None

    async def _sync(self, *, full: bool) -> None:
        if full and self.history_tail is None:
            self._merge(await self.client.all_events(self.id))
        elif full and self.history_tail is not None:
            self._older_cursor = None
            await self._load_pages(self.history_tail, cursor=None)
        else:
            await self._reconcile(self.timeline.newest_timestamp)
            # A gap the time window cannot see (clock oddities, a very long outage): the count tells.
            oldest = self.timeline[0].timestamp if len(self.timeline) else None
            held = len(self.timeline)
            if await self.client.count_events(self.id, timestamp_gte=oldest) > held:
                self._merge(await self.client.all_events(self.id, timestamp_gte=oldest))
        await self.refresh_info()

    async def _load_pages(self, count: int, cursor: str | None) -> int:
        """Newest-first pages from `cursor` until `count` events are held; remembers where older ones start."""
        loaded: list[Event] = []
        while len(loaded) < count:
            page, cursor = await self.client.search_events(
                self.id, page_id=cursor, descending=True, limit=min(100, max(1, count - len(loaded)))
            )
            loaded.extend(page)
            if not cursor:
                break
        self._older_cursor = cursor
        return len(self._merge(loaded).added)

    async def load_older(self, count: int = 200) -> int:
        """Fetch up to `count` older events (a view scrolled to the top). Returns how many were added."""
        if self._older_cursor is None:
            return 0
        return await self._load_pages(count, self._older_cursor)

    async def _reconcile(self, since: str | None) -> None:
        self._merge(await self.client.all_events(self.id, timestamp_gte=_earlier(since, RECONCILE_MARGIN)))

    async def refresh_info(self) -> None:
        info = await self.client.get_conversation(self.id)
        self.info = info
        self.confirms_actions = info.confirms_actions
        if self.status is ExecutionStatus.UNKNOWN:
            self._apply_status(info.status, snapshot=False)
        if self.usage == UsageTotals():
            self._set_usage(info.usage)
        self._emit(ChangeKind.INFO)

    def _merge(self, events: list[Event]) -> MergeResult:
        result = self.timeline.merge(events)
        if result.added:
            if self._batch is not None:
                self._batch.added.extend(result.added)
                self._batch.reordered |= result.reordered
            else:
                self._emit(ChangeKind.EVENTS, events=tuple(result.added), reordered=result.reordered)
        return result

    def _on_frames(self, events: list[Event]) -> None:
        self._batch = MergeResult()
        try:
            for event in events:
                self._on_frame(event)
        finally:
            batch, self._batch = self._batch, None
            if batch.added:
                self._emit(ChangeKind.EVENTS, events=tuple(batch.added), reordered=batch.reordered)

    # ------------------------------------------------------------------ frames

    def _on_frame(self, event: Event) -> None:
        if isinstance(event, StreamingDeltaEvent):
            if self.tokens.feed(event):
                self._emit(ChangeKind.TOKENS)
            return
        if isinstance(event, ConversationStateUpdateEvent):
            if event.is_snapshot:
                self._apply_snapshot(event.value)
                return
            self._merge([event])
            self._apply_field(event.key, event.value)
            return
        if isinstance(event, ServerErrorEvent):
            self._notice(
                f"{self.title}: the server answered {one_line(event.code) or 'an error'}: {one_line(event.detail, 300)}"
            )
            return
        if isinstance(event, UnknownEvent) and not event.id:
            self._malformed_frames += 1
            if self._malformed_frames in (1, 10, 100, 1000):
                self._notice(f"{self.title}: ignored {self._malformed_frames} malformed frame(s) from the server")
            return
        result = self._merge([event])
        if not result.added:
            return
        if (isinstance(event, MessageEvent) and event.source == "agent") or isinstance(event, ActionEvent):
            if self.tokens.settle():
                self._emit(ChangeKind.TOKENS)
        elif isinstance(event, (AgentErrorEvent, ConversationErrorEvent)):
            if self.tokens.orphan("error"):
                self._emit(ChangeKind.TOKENS)
        elif isinstance(event, InterruptEvent) and self.tokens.orphan("interrupted"):
            self._emit(ChangeKind.TOKENS)

    def _apply_snapshot(self, value: Any) -> None:
        if not isinstance(value, dict):
            return
        try:
            state = ConversationState.model_validate(value)
        except ValueError:
            return
        self.confirms_actions = state.confirms_actions
        if state.stats is not None:
            self._set_usage(state.usage)
        turn = self.turn
        if (
            turn.active
            and turn.item_id is not None
            and turn.prior_user_message_id is not None
            and state.last_user_message_id == turn.prior_user_message_id
        ):
            # A snapshot from before our message (an interrupt sends two; the second can arrive after we sent).
            return
        self._apply_status(state.status, snapshot=True)

    def _apply_field(self, key: str, value: Any) -> None:
        if key == "execution_status":
            self._apply_status(ExecutionStatus.parse(value), snapshot=False)
        elif key == "stats":
            self._set_usage(UsageTotals.from_stats(value))

    def _set_usage(self, usage: UsageTotals) -> None:
        if usage != self.usage:
            self.usage = usage
            self._emit(ChangeKind.USAGE)

    def _apply_status(self, status: ExecutionStatus, *, snapshot: bool) -> None:
        if status is ExecutionStatus.UNKNOWN:
            return
        changed = status is not self.status
        self.status = status
        turn = self.turn
        if status is ExecutionStatus.RUNNING:
            if not turn.active:
                self._begin_turn(None)
                turn = self.turn
            turn.saw_running = True
        else:
            if turn.interrupting:
                turn.interrupting = False
                self._emit(ChangeKind.TURN)
            if status is ExecutionStatus.PAUSED and self.tokens.orphan("interrupted"):
                self._emit(ChangeKind.TOKENS)
        if changed:
            self._emit(ChangeKind.STATUS)
        # The post-run snapshot ends a turn; a per-field error/stuck does too (no snapshot may follow).
        ends = (
            status is not ExecutionStatus.RUNNING
            and turn.active
            and turn.saw_running
            and (snapshot or status in (ExecutionStatus.ERROR, ExecutionStatus.STUCK))
        )
        if ends:
            self._end_turn(status)
        elif not turn.active:
            self._maybe_deliver()

    def _begin_turn(self, item: OutboxItem | None) -> None:
        self.turn = Turn(
            active=True,
            started_at=time.time(),
            item_id=item.id if item else None,
            item_text=item.text if item else None,
            since=self.timeline.newest_timestamp,
            prior_user_message_id=self._newest_user_message_id(),
            generation=self.turn.generation + 1,
        )
        self._emit(ChangeKind.TURN)

    def _newest_user_message_id(self) -> str | None:
        for index in range(len(self.timeline) - 1, -1, -1):
            event = self.timeline[index]
            if isinstance(event, MessageEvent) and event.source == "user":
                return event.id
        return None

    def _end_turn(self, status: ExecutionStatus) -> None:
        turn = self.turn
        turn.active = False
        self._spawn(self._settle_turn(turn, status))

    async def _settle_turn(self, turn: Turn, status: ExecutionStatus) -> None:
        """One reconcile after the terminal snapshot, then the turn is over for everyone waiting on it."""
        with contextlib.suppress(AgentServerError):
            await self._reconcile(turn.since)
        with contextlib.suppress(AgentServerError):
            await self.refresh_info()  # the title may have arrived (REST only)
        if self.tokens.orphan(str(status)):
            self._emit(ChangeKind.TOKENS)
        if turn.item_id is not None:
            self.settled[turn.item_id] = status
        self._emit(ChangeKind.TURN)
        if not self.turn.active:
            self._maybe_deliver()

    # ------------------------------------------------------------------ the outbox

    def _maybe_deliver(self) -> None:
        if self._sending is not None or self.turn.active or not self.outbox:
            return
        if self.connection.state is not ConnectionState.LIVE:
            return
        if self.status.is_busy():
            return
        if self.status is ExecutionStatus.WAITING_FOR_CONFIRMATION:
            self._set_hold("waiting for your approval: approve or reject first")
            return
        if self.hold is not None:
            return
        head = self.outbox.head()
        if head is None or head.state is not ItemState.QUEUED:
            return
        self._sending = head
        self._spawn(self._send(head))

    def _set_hold(self, reason: str | None) -> None:
        if reason != self.hold:
            self.hold = reason
            self._emit(ChangeKind.OUTBOX)

    async def _send(self, item: OutboxItem) -> None:
        known = [e.id for e in self.timeline.user_messages(item.text)]
        self.outbox.begin_send(item, known)
        self._begin_turn(item)
        self._emit(ChangeKind.OUTBOX)
        try:
            await self.client.send_message(self.id, item.text, run=True)
        except Unreachable as error:
            # Uncertain: the message may have arrived. The history decides, once the server answers again.
            self._notice(f"{self.title}: sending may have failed ({error.message}); will check when back")
            self.turn.active = False
            self._sending = None
            self._spawn(self._check_uncertain_later())
            return
        except AgentServerError as error:
            self.turn.active = False
            with contextlib.suppress(AgentServerError):
                await self._reconcile(self.turn.since)
            if self._arrived(item):
                self.outbox.delivered(item)
            else:
                self.outbox.requeue(item)
                self._set_hold(f"sending failed: {error.message}")
            self._emit(ChangeKind.OUTBOX)
            self._emit(ChangeKind.TURN)
            return
        finally:
            self._sending = None
        self.outbox.delivered(item)
        self._emit(ChangeKind.OUTBOX)
        self._spawn(self._watch_start(self.turn))

    async def _watch_start(self, turn: Turn, after: float = 10.0) -> None:
        """A turn we started must show `running`; if it never does, ask the server so the queue cannot stall."""
        await asyncio.sleep(after)
        if self.turn is not turn or not turn.active or turn.saw_running:
            return
        with contextlib.suppress(AgentServerError):
            info = await self.client.get_conversation(self.id)
            if self.turn is turn and turn.active and not turn.saw_running and not info.status.is_busy():
                turn.saw_running = True
                self.status = info.status
                self._end_turn(info.status)

    async def _check_uncertain_later(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._reconcile(self.turn.since)
                break
            except AgentServerError:
                delay = min(delay * 2, 30.0)
        self._resolve_uncertain()
        self._maybe_deliver()

    def _arrived(self, item: OutboxItem) -> bool:
        return any(e.id not in item.known_ids for e in self.timeline.user_messages(item.text))

    def _resolve_uncertain(self) -> None:
        """After a sync: an item caught mid-send is delivered if the history holds it, else queued again."""
        changed = False
        for item in self.outbox.uncertain():
            if item is self._sending:
                continue
            if self._arrived(item):
                self.outbox.delivered(item)
            else:
                self.outbox.requeue(item)
            changed = True
        if changed:
            self._emit(ChangeKind.OUTBOX)

    # ------------------------------------------------------------------ what a person can do

    async def submit(self, text: str, *, interrupt: bool = False) -> OutboxItem:
        """Send now when the agent is not busy, queue when it is; with `interrupt`, stop the turn and send."""
        if not text.strip():
            raise ValueError("empty message")
        busy = self.status.is_busy() or self.turn.active
        item = self.outbox.add(text, front=interrupt)
        self._set_hold(None)  # a person typing is the go-ahead for the queue
        self._emit(ChangeKind.OUTBOX)
        if interrupt and busy:
            await self.interrupt(hold=False)
        self._maybe_deliver()
        return item

    async def interrupt(self, *, hold: bool = True) -> None:
        """Stop the running turn now. The queue stays; with `hold` it waits until the user continues."""
        if hold:
            self._set_hold("interrupted: send a message or resume to continue")
        self.turn.interrupting = True
        self._emit(ChangeKind.TURN)
        try:
            await self.client.interrupt(self.id)
        except AgentServerError:
            self.turn.interrupting = False
            self._emit(ChangeKind.TURN)
            raise

    async def pause(self) -> None:
        """Pause after the current step (a tool runs to its end first; the server call blocks until then)."""
        self._set_hold("paused: resume to continue")
        await self.client.pause(self.id)

    async def resume(self) -> None:
        self._set_hold(None)
        if self.outbox and not self.turn.active:
            self._maybe_deliver()
        else:
            await self.client.run(self.id)

    async def approve(self) -> None:
        self._set_hold(None)
        await self.client.respond_to_confirmation(self.id, True)

    async def reject(self, reason: str | None = None) -> None:
        self._set_hold(None)
        await self.client.respond_to_confirmation(self.id, False, reason)

    def edit_queued(self, item_id: str, text: str) -> bool:
        ok = self.outbox.edit(item_id, text)
        if ok:
            self._emit(ChangeKind.OUTBOX)
        return ok

    def remove_queued(self, item_id: str) -> bool:
        ok = self.outbox.remove(item_id)
        if ok:
            self._emit(ChangeKind.OUTBOX)
        return ok

    def move_queued(self, item_id: str, delta: int) -> bool:
        ok = self.outbox.move(item_id, delta)
        if ok:
            self._emit(ChangeKind.OUTBOX)
        return ok

    async def find(self, text: str, limit: int = 200) -> list[str]:
        """Ids of the events whose body holds `text` (the server's `body` filter), oldest first, at most `limit`."""
        ids: list[str] = []
        cursor: str | None = None
        while len(ids) < limit:
            page, cursor = await self.client.search_events(
                self.id, body=text, page_id=cursor, limit=min(100, limit - len(ids))
            )
            ids.extend(e.id for e in page if e.id)
            if not cursor:
                break
        return ids
