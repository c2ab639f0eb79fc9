"""One conversation, followed live: the body of its worker, without Textual.

`run()` picks the protocol from `/server_info`: the session socket on servers that have it (≥ 1.46: every stored
event comes once, in order, with its `seq`, and a reconnect resumes after the last one held), else the events
socket with a REST sync after every (re)connect. Either way it applies frames as they come, tracks status, usage
and the turn in progress (`TurnRules` decides), and delivers the outbox. Listeners get a `SessionChange` for
everything a view may want to redraw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tui.client import (
    AgentClient,
    AgentServerError,
    Connected,
    Disconnected,
    EventStream,
    Frame,
    NotFound,
    Oversized,
    ServerFull,
    SessionStream,
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
    DeltaFrame,
    DurableFrame,
    Event,
    ExecutionStatus,
    InterruptEvent,
    ItemAbortedFrame,
    ItemStartedFrame,
    MessageEvent,
    ServerErrorEvent,
    ServerInfo,
    SessionErrorFrame,
    SessionFrame,
    StreamingDeltaEvent,
    SyncFrame,
    TransientFrame,
    UnknownEvent,
    UnknownFrame,
    UsageTotals,
)
from tui.sanitize import one_line

from .capacity import CAPACITY_BACKOFF, retry_while_full
from .changes import ChangeKind, SessionChange
from .connection_state import ConnectionState
from .cursor import CursorStore
from .outbox import ItemState, Outbox, OutboxItem, OutboxStore, arrived_on_server
from .outbox_rules import DeliveryState, Step, next_step
from .timeline import MergeResult, Timeline
from .tokens import TokenBuffer
from .turns import StatusDecision, Turn, TurnRules

log = logging.getLogger(__name__)

# Reconcile windows start this far before the newest event held: some events (stats, errors) carry a
# timestamp earlier than events published before them.
RECONCILE_MARGIN = timedelta(seconds=30)
MAX_BATCH = 500
CURSOR_SAVE_EVERY = 1.0  # seconds: the cursor file is rewritten at most this often (and when the session ends)
# The newest events a session holds in memory; older ones are dropped and page back in from the server
# (`load_older`), as for a long history opened tail-first. Cut only this far past it (one cut per thousand).
MAX_HELD = 2_000
TRIM_SLACK = 500
PUMP_SLICE = 0.01  # seconds the socket reader reads frames in a row before the rest of the loop runs (keys, view)


class Protocol(StrEnum):
    AUTO = "auto"  # ask /server_info
    EVENTS = "events"  # /sockets/events + REST reconcile (every server)
    SESSION = "session"  # /sockets/session with after_seq (≥ 1.46)


@dataclass(slots=True)
class Connection:
    state: ConnectionState = ConnectionState.CONNECTING
    reason: str = ""
    retry_at: float | None = None  # epoch seconds of the next attempt while reconnecting
    attempt: int = 0
    error: AgentServerError | None = None


def _earlier(timestamp: str | None, delta: timedelta) -> str | None:
    if not timestamp:
        return None
    try:
        return (datetime.fromisoformat(timestamp) - delta).isoformat()
    except (ValueError, OverflowError):  # year 1 minus the margin is out of range: no window, all of it
        return None


def _default_stream(client: AgentClient, conversation_id: str) -> EventStream:
    return client.event_stream(conversation_id)


def _default_session_stream(client: AgentClient, conversation_id: str, after_seq: int) -> SessionStream:
    return client.session_stream(conversation_id, after_seq=after_seq)


def _is_stored_full(error: AgentServerError) -> bool:
    """A 429 on a message send: the server kept the message but started no run."""
    return isinstance(error, ServerFull) and error.stored


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
        protocol: Protocol | str = Protocol.AUTO,
        session_stream_factory: Callable[[AgentClient, str, int], Any] | None = None,
        cursor_store: CursorStore | None = None,
        max_held: int | None = MAX_HELD,
        server_info: Callable[[], Awaitable[ServerInfo]] | None = None,
    ) -> None:
        self.client = client
        # What the server is (shared by the fleet, so opening a second conversation asks nothing).
        self._server_info = server_info or client.server_info
        self.id = conversation_id
        self.server_name = server_name
        self.info = info
        self.timeline = Timeline()
        self.rules = TurnRules(info.status if info else ExecutionStatus.UNKNOWN)
        self.usage = info.usage if info else UsageTotals()
        self.confirms_actions = info.confirms_actions if info else False
        self.tokens = TokenBuffer()
        self.connection = Connection()
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
        self._store_retry: asyncio.Task[None] | None = None  # a later try while the queue cannot be saved
        self._tasks: set[asyncio.Task[None]] = set()
        self._malformed_frames = 0
        self._batch: MergeResult | None = None  # while a batch of frames is applied
        # None: load the whole history on the first sync. N: load only the newest N events first (a view shows
        # the tail at once) and the rest page by page through `load_older()`.
        self.history_tail = history_tail
        self._older_cursor: str | None = None
        # At most `max_held` events stay in memory (None: all), unless `keep_older` (a reader scrolled up: what
        # they page in or read stays until they are back at the newest) or while older pages are being loaded.
        self.max_held = max_held
        self.keep_older = False
        self._loading_older = 0
        self.received = 0  # new events merged since the session started (the timeline is bounded, this is not)
        # Frames read from the socket and not applied yet (`behind`).
        self._queue: asyncio.Queue[object] | None = None
        # The protocol in use (AUTO until `run()` has asked the server). An explicit events-socket factory (tests,
        # fault injection) means the events socket.
        self.protocol = Protocol(protocol) if stream_factory is None else Protocol.EVENTS
        self._session_stream_factory = session_stream_factory or _default_session_stream
        # Session socket: the last durable seq held (None: nothing yet) and the replay target of this connection.
        self.cursor: int | None = None
        self._cursor_timestamp: str | None = None
        self._through: int | None = None
        self._replaying = False
        if cursor_store is None and outbox_store is not None:
            cursor_store = CursorStore(outbox_store.directory.parent / "cursors")
        self._cursor_store = cursor_store
        # What the previous run of the app had reached (events above it are new since then).
        self.saved_cursor = cursor_store.load(client.base_url, conversation_id) if cursor_store else None
        self._cursor_saved_at = 0.0
        self._cursor_saved: int | None = self.saved_cursor
        # The server answers a message sent into a running turn (1.58; known from its version).
        self.server_steers = False
        # While a full server (429) keeps us waiting: what is waiting ("starting the run", "approving").
        self.capacity_wait: str | None = None
        self._starting: set[str] = set()  # outbox items whose run is being started
        self._fetches: set[asyncio.Task[None]] = set()  # events too large for the socket, being read over REST

    # ------------------------------------------------------------------ observers

    @property
    def status(self) -> ExecutionStatus:
        return self.rules.status

    @property
    def turn(self) -> Turn:
        return self.rules.turn

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
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._queue = queue
        done = object()
        stream: Any = None
        pump_task: asyncio.Task[None] | None = None

        async def pump() -> None:
            # Frames are buffered here while a REST sync runs, so the socket is always read (pings work). A socket
            # with frames buffered answers `recv` without waiting: the reader yields after `PUMP_SLICE` seconds, or
            # a flood would hold the loop (keys, the screen) for as long as frames keep coming.
            try:
                since = time.monotonic()
                async for item in stream:
                    queue.put_nowait(item)
                    if time.monotonic() - since >= PUMP_SLICE:
                        await asyncio.sleep(0)
                        since = time.monotonic()
            finally:
                queue.put_nowait(done)

        try:
            stream = await self._open_stream()
            if stream is None:
                return
            self._stream = stream
            pump_task = asyncio.create_task(pump())
            pending = None
            while True:
                item, pending = (pending if pending is not None else await queue.get()), None
                if item is done:
                    break
                if isinstance(item, (Frame, SessionFrame)):
                    # Frames that arrived together are applied together: one EVENTS change for the lot.
                    frames: list[Frame | SessionFrame] = [item]
                    while len(frames) < MAX_BATCH and not queue.empty():
                        following = queue.get_nowait()
                        if not isinstance(following, (Frame, SessionFrame)):
                            pending = following
                            break
                        frames.append(following)
                    self._on_frames(frames)
                    if not queue.empty():
                        await asyncio.sleep(0)  # one batch at a time: the view and the keys run in between
                elif isinstance(item, Connected):
                    if self.protocol is Protocol.SESSION:
                        self._on_session_connected()
                    else:
                        await self._on_connected()
                elif isinstance(item, Oversized):
                    # Taken now: the frames queued behind this item come after the event that did not fit.
                    self._fetches.add(self._spawn(self._fetch_oversized(item.seq, self._cursor_timestamp)))
                elif isinstance(item, Disconnected):
                    self._set_connection(
                        ConnectionState.RECONNECTING,
                        item.reason,
                        retry_at=time.time() + item.retry_in,
                        attempt=item.attempt,
                        error=item.error,
                    )
                elif isinstance(item, Stopped):
                    self._stop(item.reason, item.error)
                    break
            if pump_task.done() and not pump_task.cancelled() and pump_task.exception():
                raise pump_task.exception()  # type: ignore[misc]
        finally:
            if pump_task is not None:
                pump_task.cancel()
            for task in list(self._tasks):
                task.cancel()
            if stream is not None:
                with contextlib.suppress(Exception):
                    await stream.close()
            self._save_cursor(force=True)
            if self.connection.state is not ConnectionState.STOPPED:
                self._set_connection(ConnectionState.STOPPED, "closed")

    async def _pick_protocol(self) -> Protocol:
        if self.protocol is not Protocol.AUTO:
            return self.protocol
        try:
            info = await self._server_info()
        except AgentServerError:
            return Protocol.EVENTS  # every server has it; the stream reports what is wrong
        # 1.58 answers a message sent while the LLM writes the turn's last reply in the same run (1.43 dropped it).
        self.server_steers = info.at_least(1, 58)
        return Protocol.SESSION if info.supports_session_socket else Protocol.EVENTS

    async def _open_stream(self) -> Any:
        """The stream to follow: the events socket, or the session socket resuming after what is held."""
        counting = None
        if self.protocol is Protocol.AUTO and self.history_tail is not None and not self._synced_once:
            # A far server: the count the session socket needs travels with the question of which socket to
            # use (one round trip, not two); an events-socket server never needs it.
            counting = asyncio.ensure_future(self.client.count_events(self.id))
        try:
            self.protocol = await self._pick_protocol()
        finally:
            if counting is not None and self.protocol is not Protocol.SESSION:
                counting.cancel()
                with contextlib.suppress(BaseException):
                    await counting
        if self.protocol is Protocol.EVENTS:
            return self._stream_factory(self.client, self.id)
        after = -1
        if self.history_tail is not None:
            # A long conversation opens tail-first over REST; the socket resumes after the newest event held.
            # seq = position in the ascending REST search, so the count taken before the pages bounds it from
            # below: anything above comes again over the socket (and is held once).
            self._set_connection(ConnectionState.CONNECTING, "loading history")
            try:
                total = await (counting if counting is not None else self.client.count_events(self.id))
                self._older_cursor = None
                await self._load_tail(self.history_tail)
                after = total - 1
                # Where to look for an event too large for the socket (the newest held may be past `after`).
                self._cursor_timestamp = _earlier(self.timeline.newest_timestamp, RECONCILE_MARGIN)
            except (NotFound, Unauthorized) as error:
                self._stop(error.message, error)
                return None
            except AgentServerError:
                self._older_cursor = None
                after = -1  # the socket replays it all (what was loaded is held once)
        if after >= 0:
            self.cursor = after
        return self._session_stream_factory(self.client, self.id, after)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # Waiters may be waiting for the background work to end (`watch --until-done`): wake them.
        self._changed.set()
        self._changed = asyncio.Event()
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
        self._store_notices()
        await self._resolve_uncertain()
        self._maybe_deliver()

    def _on_session_connected(self) -> None:
        """Session socket open: the replay up to `sync.through_seq` comes first, then live frames."""
        first = not self._synced_once
        self._through = None
        self._replaying = True
        self._set_connection(
            ConnectionState.CONNECTING if first else ConnectionState.RESYNCING,
            "loading history" if first else "catching up",
        )

    def _replayed(self) -> None:
        """Everything stored up to the connect is held: the session is live."""
        self._replaying = False
        first = not self._synced_once
        self._synced_once = True
        self._set_connection(ConnectionState.LIVE)
        self._save_cursor(force=True)
        if first:
            self._spawn(self._refresh_info_quietly())
        self._store_notices()
        # The queue waits for the snapshot that follows the replay: it says whether the agent is busy.
        self._spawn(self._resolve_then_deliver())

    async def _resolve_then_deliver(self) -> None:
        await self._resolve_uncertain()
        self._maybe_deliver()

    def _store_notices(self) -> None:
        """What the queue's store had to say when it loaded (a damaged file moved aside, another window)."""
        store = self.outbox._store
        while store is not None and store.notices:
            self._notice(f"{self.title}: {store.notices.pop(0)}")

    async def _refresh_info_quietly(self) -> None:
        with contextlib.suppress(AgentServerError):
            await self.refresh_info()

    def _advance(self, seq: int, event: Event) -> None:
        if self.cursor is None or seq > self.cursor:
            self.cursor = seq
            self._cursor_timestamp = event.timestamp or self._cursor_timestamp

    def _save_cursor(self, *, force: bool = False) -> None:
        if self._cursor_store is None or self.cursor is None or self.cursor == self._cursor_saved:
            return
        now = time.monotonic()
        if not force and now - self._cursor_saved_at < CURSOR_SAVE_EVERY:
            return
        try:
            self._cursor_store.save(self.client.base_url, self.id, self.cursor)
        except OSError as error:
            log.warning("could not save the resume point of %s: %s", self.id, error)
            return
        self._cursor_saved, self._cursor_saved_at = self.cursor, now

    async def _fetch_oversized(self, seq: int, since: str | None) -> None:
        """Event `seq` is too large for the session socket (which resumes after it): read it over REST. Log
        order is timestamp order, so it is among the first events from the one before it (`since`) on; what
        else that page holds that is not held yet is merged too (it is history all the same, held once)."""
        delay = 1.0
        while True:
            try:
                page, _ = await self.client.search_events(self.id, timestamp_gte=since, limit=100)
                break
            except (NotFound, Unauthorized):
                return
            except AgentServerError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        added = self._merge([e for e in page if e.id not in self.timeline]).added
        closed = [self.tokens.close_slot(e.id) for e in added]  # a streamed reply too large to send whole
        if any(closed):
            self._emit(ChangeKind.TOKENS)

    @property
    def behind(self) -> int:
        """Frames read from the socket and not applied yet."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def has_older(self) -> bool:
        """Older history exists on the server that is not loaded yet."""
        return self._older_cursor is not None

    async def _sync(self, *, full: bool) -> None:
        if full and self.history_tail is None:
            self._merge(await self.client.all_events(self.id))
        elif full and self.history_tail is not None:
            self._older_cursor = None
            await self._load_tail(self.history_tail)
        else:
            await self._reconcile(self.timeline.newest_timestamp)
            # A gap the time window cannot see (clock oddities, a very long outage): the count tells.
            oldest = self.timeline[0].timestamp if len(self.timeline) else None
            held = len(self.timeline)
            if await self.client.count_events(self.id, timestamp_gte=oldest) > held:
                self._merge(await self.client.all_events(self.id, timestamp_gte=oldest))
        await self.refresh_info()

    async def _load_pages(self, count: int, cursor: str | None, *, readmit: bool = False) -> int:
        """Newest-first pages from `cursor` until `count` events are held; remembers where older ones start."""
        loaded: list[Event] = []
        while len(loaded) < count:
            page, cursor = await self.client.search_events(
                self.id, page_id=cursor, descending=True, limit=min(100, max(1, count - len(loaded)))
            )
            loaded.extend(page)
            if not cursor or not page:  # an empty page that names another one: a server that never ends
                break
        self._older_cursor = cursor
        return len(self._merge(loaded, readmit=readmit).added)

    async def _load_tail(self, count: int) -> None:
        """The newest `count` events, the newest page shown as soon as it arrives (the first screen of a long
        conversation waits one page, not all of them)."""
        page, cursor = await self.client.search_events(self.id, descending=True, limit=min(100, max(1, count)))
        self._older_cursor = cursor
        self._merge(page)
        if cursor and page and count > len(page):
            await self._load_pages(count - len(page), cursor)

    async def load_older(self, count: int = 200) -> int:
        """Fetch up to `count` older events (a view scrolled to the top). Returns how many were added. What is
        paged in stays (`keep_older`) until the reader is back at the newest (`follow_tail`)."""
        if self._older_cursor is None:
            return 0
        self.keep_older = True
        self._loading_older += 1  # no cut while a page is on its way: it would leave a gap behind the cursor
        try:
            return await self._load_pages(count, self._older_cursor, readmit=True)
        finally:
            self._loading_older -= 1

    def follow_tail(self) -> None:
        """The reader is back at the newest events: hold the bounded tail again."""
        self.keep_older = False
        self._trim()

    def _trim(self) -> None:
        """Past the bound: drop the oldest events; the server has them (`has_older`, paged by `load_older`)."""
        bound = self.max_held
        if bound is None or self.keep_older or self._loading_older or len(self.timeline) <= bound + TRIM_SLACK:
            return
        newest_dropped = self.timeline.drop_oldest(len(self.timeline) - bound)
        if newest_dropped is not None:
            # Pages start at the event named (inclusive), newest first: the dropped one and everything older.
            self._older_cursor = newest_dropped.id

    async def _reconcile(self, since: str | None) -> None:
        self._merge(await self.client.all_events(self.id, timestamp_gte=_earlier(since, RECONCILE_MARGIN)))

    async def refresh_info(self) -> None:
        info = await self.client.get_conversation(self.id)
        self.info = info
        self.confirms_actions = info.confirms_actions
        self._act(self.rules.observe_rest(info.status, now=time.time()))
        if self.usage == UsageTotals():
            self._set_usage(info.usage)
        self._emit(ChangeKind.INFO)

    def _merge(self, events: list[Event], *, readmit: bool = False) -> MergeResult:
        result = self.timeline.merge(events, readmit=readmit)
        if not readmit:
            self.received += len(result.added)
        self._trim()
        if result.added:
            if self._batch is not None:
                self._batch.added.extend(result.added)
                self._batch.reordered |= result.reordered
            else:
                self._emit(ChangeKind.EVENTS, events=tuple(result.added), reordered=result.reordered)
        return result

    def _on_frames(self, frames: list[Frame | SessionFrame]) -> None:
        self._batch = MergeResult()
        tokens_changed = False
        try:
            for frame in frames:
                if isinstance(frame, Frame):
                    self._on_frame(frame.event)
                else:
                    tokens_changed |= self._on_session_frame(frame)
        finally:
            batch, self._batch = self._batch, None
            if batch.added:
                self._emit(ChangeKind.EVENTS, events=tuple(batch.added), reordered=batch.reordered)
            if tokens_changed:
                self._emit(ChangeKind.TOKENS)
            self._save_cursor()

    def _check_replayed(self) -> None:
        held = self.cursor if self.cursor is not None else -1
        if self._replaying and self._through is not None and held >= self._through:
            self._replayed()

    def _on_session_frame(self, frame: SessionFrame) -> bool:
        """Apply one session-socket frame; True when the streamed text on screen changed."""
        tokens = self.tokens
        if isinstance(frame, DurableFrame):
            self._advance(frame.seq, frame.event)
            # Replayed history is held, not acted on: the live status comes with the snapshot after the replay.
            self._on_frame(frame.event, replayed=self._replaying)
            self._check_replayed()
            return False
        if isinstance(frame, TransientFrame):
            self._on_frame(frame.event)
            return False
        if isinstance(frame, DeltaFrame):
            return tokens.add_delta(frame.item_id, frame.attempt, frame.order, frame.kind, frame.content)
        if isinstance(frame, ItemStartedFrame):
            return tokens.open_slot(frame.item_id, frame.attempt, frame.anchor_seq)
        if isinstance(frame, ItemAbortedFrame):
            return tokens.abort_slot(frame.item_id, frame.attempt, frame.reason)
        if isinstance(frame, SyncFrame):
            # -1: nothing to replay; a replay is sent only from an after_seq we always give.
            self._through = frame.through_seq if frame.through_seq is not None else -1
            self._check_replayed()
            return False
        if isinstance(frame, SessionErrorFrame):
            self._notice(
                f"{self.title}: the server answered {one_line(frame.code) or 'an error'}: {one_line(frame.detail, 300)}"
            )
            return False
        if isinstance(frame, UnknownFrame):
            self._malformed()
        return False

    def _malformed(self) -> None:
        self._malformed_frames += 1
        if self._malformed_frames in (1, 10, 100, 1000):
            self._notice(f"{self.title}: ignored {self._malformed_frames} malformed frame(s) from the server")

    # ------------------------------------------------------------------ frames

    def _on_frame(self, event: Event, *, replayed: bool = False) -> None:
        if isinstance(event, StreamingDeltaEvent):
            if self.tokens.feed(event):
                self._emit(ChangeKind.TOKENS)
            return
        if isinstance(event, ConversationStateUpdateEvent):
            if event.is_snapshot:
                self._apply_snapshot(event.value)
                return
            self._merge([event])
            if not replayed:
                self._apply_field(event.key, event.value)
            return
        if isinstance(event, ServerErrorEvent):
            self._notice(
                f"{self.title}: the server answered {one_line(event.code) or 'an error'}: {one_line(event.detail, 300)}"
            )
            return
        if isinstance(event, UnknownEvent) and not event.id:
            self._malformed()
            return
        result = self._merge([event])
        if not result.added:
            return
        if self.protocol is Protocol.SESSION and event.id in self.tokens.slots:
            # The durable event a stream was keyed to: it holds the whole text (repairs a lossy slot).
            if self.tokens.close_slot(event.id):
                self._emit(ChangeKind.TOKENS)
        elif self.protocol is Protocol.SESSION and isinstance(event, (MessageEvent, ActionEvent)):
            pass  # not streamed, or its slot was never seen: nothing on screen to hand over
        elif (isinstance(event, MessageEvent) and event.source == "agent") or isinstance(event, ActionEvent):
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
        self._act(self.rules.observe_snapshot(state.status, state.last_user_message_id, now=time.time()))

    def _apply_field(self, key: str, value: Any) -> None:
        if key == "execution_status":
            self._act(self.rules.observe_field(ExecutionStatus.parse(value), now=time.time()))
        elif key == "stats":
            self._set_usage(UsageTotals.from_stats(value))

    def _set_usage(self, usage: UsageTotals) -> None:
        if usage != self.usage:
            self.usage = usage
            self._emit(ChangeKind.USAGE)

    def _act(self, decision: StatusDecision) -> None:
        """Carry out what the turn rules decided about one observed status."""
        if decision.ignored:
            return
        if decision.turn_changed:
            if decision.began:
                self.turn.since = self.timeline.newest_timestamp
                self.turn.prior_user_message_id = self._newest_user_message_id()
            self._emit(ChangeKind.TURN)
        if decision.status_changed:
            self._emit(ChangeKind.STATUS)
        if decision.ended is not None:
            self._spawn(self._settle_turn(self.turn, decision.ended))
        elif decision.check_queue:
            self._maybe_deliver()

    def _begin_turn(self, item: OutboxItem | None) -> None:
        self.rules.begin(
            item_id=item.id if item else None,
            item_text=item.text if item else None,
            since=self.timeline.newest_timestamp,
            prior_user_message_id=self._newest_user_message_id(),
            now=time.time(),
        )
        self._emit(ChangeKind.TURN)

    def _newest_user_message_id(self) -> str | None:
        return self.timeline.newest_user_message_id

    async def _settle_turn(self, turn: Turn, status: ExecutionStatus) -> None:
        """One reconcile after the terminal snapshot (the events socket may have missed something; the session
        socket cannot), then the turn is over for everyone waiting on it."""
        if self.protocol is not Protocol.SESSION:
            with contextlib.suppress(AgentServerError):
                await self._reconcile(turn.since)
        self._fetches = {task for task in self._fetches if not task.done()}
        if self._fetches:  # an event too large for the socket may hold the turn's last reply
            await asyncio.wait(self._fetches)
        with contextlib.suppress(AgentServerError):
            await self.refresh_info()  # the title may have arrived (REST only)
        reason = TurnRules.cut_off_reason(status)
        if reason is not None and self.tokens.orphan(reason):
            self._emit(ChangeKind.TOKENS)
        if turn.item_id is not None:
            self.settled[turn.item_id] = status
        self._emit(ChangeKind.TURN)
        if not self.turn.active:
            self._maybe_deliver()

    # ------------------------------------------------------------------ the outbox

    def _maybe_deliver(self) -> None:
        """Send the head when the outbox's rules say so (`outbox_rules.next_step`)."""
        if self.outbox.problem is not None and self.outbox.retry_save():
            self._emit(ChangeKind.OUTBOX)  # the disk (or the lock) is back
        head = self.outbox.head()
        step, reason = next_step(
            DeliveryState(
                queued=len(self.outbox),
                head_queued=head is not None and head.state is ItemState.QUEUED,
                sending=self._sending is not None,
                turn_active=self.turn.active,
                live=self.connection.state is ConnectionState.LIVE,
                busy=self.status.is_busy(),
                waiting_for_confirmation=self.status is ExecutionStatus.WAITING_FOR_CONFIRMATION,
                hold=self._user_hold,
                store_problem=self.outbox.problem,
            )
        )
        self._set_hold(reason)
        if self.outbox.problem is not None:
            self._retry_store_later()
        if step is Step.SEND and head is not None:
            self._sending = head
            self._spawn(self._send(head))

    @property
    def _user_hold(self) -> str | None:
        """The hold a person set (pause, interrupt, a refused send), not one the rules derive each time."""
        derived = self.hold is not None and (
            self.hold.startswith("the queue cannot be saved") or self.hold.startswith("waiting for your approval")
        )
        return None if derived else self.hold

    def _retry_store_later(self, delay: float = 2.0) -> None:
        if self._store_retry is None:

            async def retry() -> None:
                try:
                    await asyncio.sleep(delay)
                finally:
                    self._store_retry = None
                self._maybe_deliver()

            self._store_retry = self._spawn(retry())

    def _set_hold(self, reason: str | None) -> None:
        if reason != self.hold:
            self.hold = reason
            self._emit(ChangeKind.OUTBOX)

    async def _send(self, item: OutboxItem) -> None:
        known = self.timeline.user_message_ids(item.text)
        since = _earlier(self.timeline.newest_timestamp, RECONCILE_MARGIN)
        self._begin_turn(item)  # at once, so a late snapshot from before this message is recognised as such
        try:
            # What the server holds before the send: after a crash it decides whether the message arrived.
            count_before = await self.client.count_events(self.id, kind="MessageEvent", source="user")
        except AgentServerError as error:
            self._cancel_send(f"{self.title}: not sent yet ({error.message}); will try again")
            return
        if not self.outbox.begin_send(item, known, count_before, since):
            self._cancel_send(None)  # not saved, so not sent: held with the reason until the disk is back
            return
        self._emit(ChangeKind.OUTBOX)
        try:
            await self.client.send_message(self.id, item.text, run=True)
        except Unreachable as error:
            # Uncertain: the message may have arrived. The history decides, once the server answers again.
            self._notice(f"{self.title}: sending may have failed ({error.message}); will check when back")
            self.rules.send_failed()
            self._sending = None
            self._spawn(self._check_uncertain_later())
            return
        except AgentServerError as error:
            if _is_stored_full(error):
                # Delivered, but no run: start it when a slot frees. Never send the text again.
                self.outbox.starting(item)
                self._emit(ChangeKind.OUTBOX)
                self._spawn(self._start_run(item, self.turn))
                return
            self.rules.send_failed()
            with contextlib.suppress(AgentServerError):
                await self._reconcile(self.turn.since)
            arrived = False
            with contextlib.suppress(AgentServerError):
                arrived = await arrived_on_server(self.client, self.id, item)
            if arrived:
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
        # The turn may have ended before the POST returned (the socket is faster): the next item goes now.
        self._maybe_deliver()

    def _cancel_send(self, notice: str | None) -> None:
        """The head did not go out (nothing was posted): the turn it began is undone, and it is tried again."""
        self.turn.active = False
        self._sending = None
        self._emit(ChangeKind.TURN)
        if notice:
            self._notice(notice)
        self._retry_store_later(5.0 if notice else 2.0)
        self._maybe_deliver()

    async def _watch_start(self, turn: Turn, after: float = 10.0) -> None:
        """A turn we started must show `running`; if it never does, ask the server so the queue cannot stall."""
        await asyncio.sleep(after)
        if self.turn is not turn or not turn.active or turn.saw_running:
            return
        with contextlib.suppress(AgentServerError):
            info = await self.client.get_conversation(self.id)
            ended = self.rules.never_started(turn, info.status)
            if ended is not None:
                self._emit(ChangeKind.STATUS)
                self._spawn(self._settle_turn(turn, ended))

    async def _check_uncertain_later(self) -> None:
        delay = 1.0
        while True:
            await asyncio.sleep(delay)
            try:
                await self._reconcile(self.turn.since)
                break
            except AgentServerError:
                delay = min(delay * 2, 30.0)
        await self._resolve_uncertain()
        self._maybe_deliver()

    def _set_capacity(self, waiting: str | None) -> None:
        if waiting != self.capacity_wait:
            self.capacity_wait = waiting
            self._emit(ChangeKind.STATUS)

    async def _while_full(self, what: str, call: Callable[[], Coroutine[Any, Any, object]]) -> bool:
        """Repeat `call` while the server answers 429 (full) or cannot be reached, showing what waits. True once
        it went through; False when the server refused it for another reason (reported)."""

        def waiting(on: bool) -> None:
            self._set_capacity(f"server full: {what}" if on else None)

        try:
            await retry_while_full(call, on_wait=waiting, delays=CAPACITY_BACKOFF, retry_unreachable=True)
        except AgentServerError as error:
            self._notice(f"{self.title}: {what} failed: {error.message}", "error")
            return False
        return True

    async def _start_run(self, item: OutboxItem, turn: Turn | None) -> None:
        """A full server stored `item` without starting a run: `POST /run` until it starts (200, or 409 when
        someone else started it). The message is never sent again."""
        if item.id in self._starting:
            return
        self._starting.add(item.id)
        try:
            if not await self._while_full("starting the run when a slot frees", lambda: self.client.run(self.id)):
                return
        finally:
            self._starting.discard(item.id)
        self.outbox.delivered(item)
        self._emit(ChangeKind.OUTBOX)
        if turn is not None and turn is self.turn and turn.active:
            self._spawn(self._watch_start(turn))
        self._maybe_deliver()

    async def _resolve_uncertain(self) -> None:
        """After a sync: an item caught mid-send is delivered if the server says it arrived, else queued again
        (asked of the server, not of the loaded history: see `outbox.arrived_on_server`)."""
        changed = False
        for item in self.outbox.items:
            if item.state is ItemState.STARTING and item.id not in self._starting:
                self._spawn(self._start_run(item, None))  # stored by a full server before a restart
        for item in self.outbox.uncertain():
            if item is self._sending:
                continue
            try:
                arrived = await arrived_on_server(self.client, self.id, item)
            except AgentServerError:
                self._spawn(self._check_uncertain_later())
                break
            if item not in self.outbox.items or item.state is not ItemState.SENDING:
                continue
            if arrived:
                self.outbox.delivered(item)
            else:
                self.outbox.requeue(item)
            changed = True
        if changed:
            self._emit(ChangeKind.OUTBOX)

    # ------------------------------------------------------------------ what a person can do

    @property
    def can_steer(self) -> bool:
        """A message can go into the running turn without stopping it (`submit(text, mode="steer")`): a turn runs
        on a server that answers mid-turn messages (1.58, or seen to)."""
        return self.rules.can_steer(self.server_steers)

    async def submit(self, text: str, *, interrupt: bool = False, mode: str = "queue") -> OutboxItem:
        """Send now when the agent is not busy, queue when it is (`mode="queue"`, the default). `interrupt`
        (or `mode="interrupt"`): stop the turn and send. `mode="steer"`: send into the running turn without
        stopping it, where the server answers that (`can_steer`); otherwise it is queued."""
        if not text.strip():
            raise ValueError("empty message")
        if mode not in ("queue", "interrupt", "steer"):
            raise ValueError(f"unknown mode {mode!r}")
        interrupt = interrupt or mode == "interrupt"
        if mode == "steer" and self.can_steer:
            item = self.outbox.add(text, front=True)
            self._emit(ChangeKind.OUTBOX)
            self._spawn(self._steer(item))
            return item
        busy = self.status.is_busy() or self.turn.active
        item = self.outbox.add(text, front=interrupt)
        self._set_hold(None)  # a person typing is the go-ahead for the queue
        self._emit(ChangeKind.OUTBOX)
        if interrupt and busy:
            await self.interrupt(hold=False)
        self._maybe_deliver()
        return item

    async def _steer(self, item: OutboxItem) -> None:
        """Into the running turn: the same run answers it, so no turn of ours begins."""
        self.outbox.begin_send(item, self.timeline.user_message_ids(item.text))
        self._emit(ChangeKind.OUTBOX)
        try:
            await self.client.send_message(self.id, item.text, run=True)
        except Unreachable as error:
            self._notice(f"{self.title}: sending may have failed ({error.message}); will check when back")
            self._spawn(self._check_uncertain_later())
            return
        except AgentServerError as error:
            if _is_stored_full(error):  # the turn ended meanwhile and the server is full
                self.outbox.starting(item)
                self._emit(ChangeKind.OUTBOX)
                self._spawn(self._start_run(item, None))
                return
            self.outbox.requeue(item)
            self._set_hold(f"sending failed: {error.message}")
            self._emit(ChangeKind.OUTBOX)
            return
        self.outbox.delivered(item)
        self._emit(ChangeKind.OUTBOX)
        self._maybe_deliver()

    async def interrupt(self, *, hold: bool = True) -> None:
        """Stop the running turn now. The queue stays; with `hold` it waits until the user continues."""
        if hold:
            self._set_hold("interrupted: send a message or resume to continue")
        self.rules.interrupt_requested()
        self._emit(ChangeKind.TURN)
        try:
            await self.client.interrupt(self.id)
        except AgentServerError:
            self.rules.interrupt_failed()
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
            try:
                await self.client.run(self.id)
            except ServerFull:
                self._spawn(self._retry_when_full("resuming when a slot frees", lambda: self.client.run(self.id)))

    async def approve(self) -> None:
        """Run the pending actions. A full server keeps them pending (429): the accept is repeated until it
        goes through, and the session shows that it waits."""
        self._set_hold(None)
        try:
            await self.client.respond_to_confirmation(self.id, True)
        except ServerFull:
            self._spawn(
                self._retry_when_full(
                    "approving when a slot frees", lambda: self.client.respond_to_confirmation(self.id, True)
                )
            )

    async def _retry_when_full(self, what: str, call: Callable[[], Coroutine[Any, Any, object]]) -> None:
        await self._while_full(what, call)

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
