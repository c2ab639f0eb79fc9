"""`watch`: every event of a conversation exactly once, in arrival order, with bounded memory.

Unlike the TUI's session, a watcher keeps only the ids it has printed (not the events): a flood of events
costs a set of short strings. The socket opens first, then the history that was asked for (all, the newest N,
from a time or an event, or nothing with `--next`) is paged over REST, then the buffered and live frames are
printed, de-duplicated by id. After a reconnect the window since the newest event printed is fetched again.
Bad data is data: an unparsable or out-of-range timestamp widens the window instead of failing, and an event
that cannot be re-serialised is printed from the JSON that arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tui.client import AgentClient, AgentServerError, Connected, Disconnected, Frame, Stopped
from tui.protocol import (
    ConversationInfo,
    ConversationStateUpdateEvent,
    Event,
    ExecutionStatus,
    ServerErrorEvent,
    StreamingDeltaEvent,
    UnknownEvent,
    UsageTotals,
)
from tui.sanitize import one_line

from .common import describe
from .export import event_summary, wire_of

RECONCILE_MARGIN = timedelta(seconds=30)
QUEUE_FRAMES = 10_000  # frames buffered between the socket and the printer (back-pressure beyond)
PAGE = 100


def earlier(timestamp: str | None, delta: timedelta) -> str | None:
    """`timestamp - delta` in the server's format, or None (the whole history) when it cannot be computed."""
    if not timestamp:
        return None
    try:
        return (datetime.fromisoformat(timestamp.replace("Z", "+00:00")) - delta).isoformat()
    except (ValueError, OverflowError, TypeError):
        return None


def event_line(event: Event) -> str:
    """One readable line: time, kind, source, what happened (server text made safe by the caller's printer)."""
    stamp = event.timestamp if isinstance(event.timestamp, str) else ""
    stamp = stamp[11:19] if len(stamp) >= 19 else stamp
    if isinstance(event, ConversationStateUpdateEvent) and event.key == "stats":
        usage = UsageTotals.from_stats(event.value)
        text = f"stats: ${usage.cost:.2f}, {usage.prompt_tokens} tokens in, {usage.completion_tokens} out"
    elif isinstance(event, ConversationStateUpdateEvent):
        try:
            value = event.value if isinstance(event.value, str) else json.dumps(event.value)
        except (ValueError, TypeError, RecursionError):
            value = "(too deeply nested to show)"
        text = f"{one_line(str(event.key))} = {one_line(value, 80)}"
    else:
        try:
            text = event_summary(event)
        except (ValueError, TypeError, RecursionError):
            text = "(could not be summarised)"
    return f"{one_line(stamp, 19)} {one_line(event.kind, 28):<28} {one_line(event.source or '', 11):<11} {text}"


def _status_from(event: Event) -> tuple[ExecutionStatus, bool] | None:
    """(status, from a snapshot) when the event says what the conversation's status is now."""
    if not isinstance(event, ConversationStateUpdateEvent):
        return None
    if event.is_snapshot and isinstance(event.value, dict) and "execution_status" in event.value:
        return ExecutionStatus.parse(event.value.get("execution_status")), True
    if event.key == "execution_status":
        return ExecutionStatus.parse(event.value), False
    return None


class Watcher:
    """Follow one conversation and hand each new event to `emit(event, raw)` exactly once.

    history: "all" (default), "tail" (the newest `tail` events), "since" (from `since`, a time or an event id),
    or "next" (nothing from before the start). `done` is set when the turn being waited for ends (see
    `until_done`): the turn running at the start, or with `next_turn` the next one to start and end.
    """

    def __init__(
        self,
        client: AgentClient,
        info: ConversationInfo,
        emit: Callable[[Event, dict[str, Any] | None], None],
        warn: Callable[[str], None],
        *,
        idle: Callable[[], None] = lambda: None,
        history: str = "all",
        tail: int = 0,
        since: str | None = None,
        until_done: bool = False,
        next_turn: bool = False,
    ) -> None:
        self.client = client
        self.id = info.id
        self.status = info.status
        self.emit = emit
        self.warn = warn
        self.idle = idle  # called when no frame is waiting (flush what was printed)
        self.history = history
        self.tail = tail
        self.since = since
        self.until_done = until_done
        self.next_turn = next_turn
        self.seen: set[str] = set()  # ids printed
        self.baseline: set[str] = set()  # ids that existed at the start and were not asked for
        self.newest: str | None = None  # newest parseable timestamp printed (the reconcile window)
        self._newest_at: datetime | None = None
        self.saw_running = info.status is ExecutionStatus.RUNNING and not next_turn
        self.done = asyncio.Event()
        self.error: AgentServerError | None = None
        self.stop_reason = ""
        self._ending: asyncio.Task | None = None
        self._live = False
        self._disconnects = 0

    # ------------------------------------------------------------------ printing

    def _note_time(self, stamp: Any) -> None:
        if not isinstance(stamp, str) or not stamp:
            return
        try:
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if when - RECONCILE_MARGIN > when:  # out of range (year 1) raises: not usable as a window start
                return
        except (ValueError, OverflowError, TypeError):
            return
        if when > datetime.now(UTC) + timedelta(days=1):
            return  # a far-future stamp would hide everything after it from the window
        if self._newest_at is None or when > self._newest_at:
            self._newest_at, self.newest = when, stamp

    def _show(self, event: Event, raw: dict[str, Any] | None = None, *, live: bool) -> None:
        if isinstance(event, StreamingDeltaEvent):
            return
        if isinstance(event, ServerErrorEvent):
            self.warn(f"{self.id[:8]}: the server reported {one_line(event.code)}: {one_line(event.detail, 300)}")
            return
        if event.is_transient or not event.id or (isinstance(event, UnknownEvent) and not event.id):
            return
        if event.id in self.seen or (not live and event.id in self.baseline):
            return
        self.seen.add(event.id)
        self._note_time(event.timestamp)
        try:
            self.emit(event, raw)
        except (ValueError, TypeError, RecursionError) as error:  # one bad event never takes the rest down
            self.warn(f"{self.id[:8]}: event {one_line(event.id, 60)} could not be printed ({type(error).__name__})")

    # ------------------------------------------------------------------ turns

    def _on_status(self, status: ExecutionStatus, snapshot: bool) -> None:
        if status is ExecutionStatus.UNKNOWN:
            return
        self.status = status
        if status is ExecutionStatus.RUNNING:
            self.saw_running = True
            return
        if not self.until_done or not self.saw_running or self.done.is_set():
            return
        if self._ending is None or self._ending.done():
            # A snapshot ends the turn; a per-field update is confirmed over REST first (more may follow).
            self._ending = asyncio.create_task(self._end_turn(confirm=not snapshot))

    async def _end_turn(self, *, confirm: bool) -> None:
        if confirm:
            await asyncio.sleep(0.5)
            with contextlib.suppress(AgentServerError):
                info = await self.client.get_conversation(self.id)
                self.status = info.status
            if self.status.is_busy():
                return
        if self._disconnects:
            # Frames may have been lost while the socket was down: fetch what the turn wrote over REST. On an
            # unbroken socket the server's frames arrive in order, the end of the turn last.
            with contextlib.suppress(AgentServerError):
                await self._reconcile()
        if not self.status.is_busy():
            self.done.set()

    # ------------------------------------------------------------------ REST

    async def _pages(self, *, timestamp_gte: str | None = None, descending: bool = False, limit: int | None = None):
        """Events over REST, page by page (never more than `limit` when given)."""
        got = 0
        page_id: str | None = None
        seen_pages: set[str] = set()
        while True:
            size = PAGE if limit is None else max(1, min(PAGE, limit - got))
            events, page_id = await self.client.search_events(
                self.id, page_id=page_id, limit=size, timestamp_gte=timestamp_gte, descending=descending
            )
            got += len(events)
            yield events
            if not page_id or page_id in seen_pages or (limit is not None and got >= limit):
                return
            seen_pages.add(page_id)

    async def _newest_timestamp(self) -> str | None:
        events, _ = await self.client.search_events(self.id, limit=1, descending=True)
        return events[0].timestamp if events else None

    async def _start_from(self) -> str | None:
        """The timestamp where printing starts for `--since` (a time, or the time of an event id)."""
        assert self.since is not None
        if earlier(self.since, timedelta(0)) is not None:
            return self.since
        event = await self.client.get_event(self.id, self.since)
        return event.timestamp

    async def _first_sync(self) -> None:
        if self.history == "all":
            async for page in self._pages():
                for event in page:
                    self._show(event, live=False)
            return
        # Whatever existed at the start and was not asked for is never printed later by a reconcile.
        window = earlier(await self._newest_timestamp(), RECONCILE_MARGIN)
        async for page in self._pages(timestamp_gte=window):
            self.baseline.update(e.id for e in page if e.id)
        if self.history == "tail" and self.tail > 0:
            newest_first: list[Event] = []
            async for page in self._pages(descending=True, limit=self.tail):
                newest_first.extend(page)
            for event in reversed(newest_first[: self.tail]):
                self._show(event, live=True)
        elif self.history == "since":
            start = await self._start_from()
            after_id = self.since if start != self.since else None
            passed = after_id is None
            async for page in self._pages(timestamp_gte=start):
                for event in page:
                    if not passed:
                        passed = event.id == after_id
                        continue
                    self._show(event, live=True)
        self.baseline -= self.seen

    async def _reconcile(self) -> None:
        async for page in self._pages(timestamp_gte=earlier(self.newest, RECONCILE_MARGIN)):
            for event in page:
                self._show(event, live=False)

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Follow until cancelled, or the server refuses the conversation for good (`error` then says why)."""
        stream = self.client.event_stream(self.id)
        queue: asyncio.Queue = asyncio.Queue(QUEUE_FRAMES)
        finished = object()

        async def pump() -> None:
            try:
                async for item in stream:
                    await queue.put(item)
            finally:
                await queue.put(finished)

        pump_task = asyncio.create_task(pump())
        first = True
        try:
            while True:
                if queue.empty():
                    self.idle()
                item = await queue.get()
                if item is finished:
                    break
                if isinstance(item, Frame):
                    # Only the socket says what the status is now; history holds every past turn's changes.
                    status = _status_from(item.event)
                    if status is not None:
                        self._on_status(*status)
                    self._show(item.event, item.raw, live=True)
                elif isinstance(item, Connected):
                    await self._synced(first)
                    first = False
                elif isinstance(item, Disconnected):
                    self._live = False
                    self._disconnects += 1
                elif isinstance(item, Stopped):
                    self.error, self.stop_reason = item.error, item.reason
                    break
        finally:
            pump_task.cancel()
            with contextlib.suppress(Exception):
                await stream.close()
            if self._ending is not None:
                self._ending.cancel()
            self.done.set()

    async def _synced(self, first: bool) -> None:
        delay = 1.0
        while True:
            try:
                if first:
                    await self._first_sync()
                else:
                    await self._reconcile()
                info = await self.client.get_conversation(self.id)
                break
            except AgentServerError as error:
                if error.status in (401, 403, 404):
                    raise
                self.warn(f"{self.id[:8]}: {describe(error)}; retrying in {delay:g}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self._live = True
        if self.until_done and not self.done.is_set():
            if info.status is ExecutionStatus.RUNNING:
                self._on_status(ExecutionStatus.RUNNING, False)
            elif not self.next_turn or self.saw_running:
                self._on_status(info.status, True)
                if not self.saw_running and not self.next_turn:
                    self.status = info.status
                    self.done.set()  # nothing was running: the history is all there is


async def verb_watch(ctx, args) -> int:
    from . import output
    from .common import EXIT_OK, EXIT_SERVER, EXIT_USAGE, VerbError, exit_code_for

    if args.tail is not None and args.since is not None:
        raise VerbError("--tail and --since cannot be combined", EXIT_USAGE)
    if args.next and (args.tail is not None or args.since is not None):
        raise VerbError("--next prints only what comes after the start; it cannot be combined with --tail/--since", 2)
    history = "next" if args.next else "tail" if args.tail is not None else "since" if args.since else "all"
    founds = [await ctx.find(ident) for ident in args.ids]
    several = len(founds) > 1

    def printer(found):
        prefix = f"{found.info.id[:8]} " if several else ""

        def emit(event: Event, raw: dict[str, Any] | None) -> None:
            if args.json:
                wire = wire_of(event, raw)
                output.say_json({"conversation_id": found.info.id, **wire} if several else wire, flush=False)
            else:
                output.say(prefix + event_line(event), flush=False)

        return emit

    watchers = [
        Watcher(
            found.client,
            found.info,
            printer(found),
            output.warn,
            idle=output.flush,
            history=history,
            tail=args.tail or 0,
            since=args.since,
            until_done=args.until_done,
            next_turn=args.next,
        )
        for found in founds
    ]
    tasks = [asyncio.create_task(w.run()) for w in watchers]
    try:
        if args.until_done:
            await asyncio.gather(*(w.done.wait() for w in watchers))
        else:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        output.flush()
    failed = False
    for watcher, result in zip(watchers, results, strict=True):
        if isinstance(result, AgentServerError):
            watcher.error, watcher.stop_reason = result, describe(result)
        elif isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result
        if watcher.error is not None:
            output.warn(f"{watcher.id}: {watcher.stop_reason or describe(watcher.error)}")
            failed = True
    if failed:
        return EXIT_SERVER
    if not args.until_done:
        return EXIT_OK
    return max((exit_code_for(w.status) for w in watchers), default=EXIT_OK)
