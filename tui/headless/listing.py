"""`list` and `search`: every server asked at once, each within its share of one overall deadline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tui.client import AgentClient
from tui.config import ServerConfig
from tui.protocol import ConversationInfo, Event, ExecutionStatus, MessageEvent
from tui.protocol.labels import status_label
from tui.sanitize import one_line, strip_control

from . import output
from .common import EXIT_OK, EXIT_SERVER, EXIT_USAGE, SERVER_SECONDS, Deadline, VerbError, per_server, problem_text

SEARCH_PAGE = 100  # the server refuses a larger `limit`
SEARCH_CONCURRENCY = 8  # conversations searched at once on one server
MATCHES_PER_CONVERSATION = 20


def money(cost: float) -> str:
    return f"${cost:,.2f}"


def age(stamp: str | None, now: datetime | None = None) -> str:
    if not stamp:
        return "-"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if then.tzinfo is None:
            then = then.replace(tzinfo=UTC)
        seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    except (ValueError, OverflowError, TypeError):
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def status_words(info: ConversationInfo) -> str:
    """The TUI's words for a status; a value this client does not know is shown as sent (made safe)."""
    status = info.status
    if status is ExecutionStatus.UNKNOWN:
        return one_line(str(info.execution_status or "unknown"), 24)
    return status_label(status)


def _deadline(args) -> Deadline:
    timeout = getattr(args, "timeout", None)
    return Deadline(SERVER_SECONDS if timeout is None else timeout)


async def verb_list(ctx, args) -> int:
    deadline = _deadline(args)
    clients: dict[str, AgentClient] = ctx.clients

    async def fetch(server: ServerConfig) -> list[ConversationInfo]:
        return await clients[server.name].search_conversations()

    outcomes = await per_server(ctx.servers, fetch, deadline, cap=deadline.remaining())
    rows: list[tuple[ServerConfig, ConversationInfo]] = []
    failed = False
    for server, outcome in outcomes:
        if isinstance(outcome, BaseException):
            output.warn(problem_text(server, outcome))
            failed = True
        else:
            rows.extend((server, info) for info in outcome)
    if args.json:
        output.say_json(
            [
                {
                    "server": s.name,
                    "server_url": s.url,
                    "id": i.id,
                    "title": i.title,
                    "status": i.execution_status,
                    "model": i.model,
                    "cost": i.usage.cost,
                    "created_at": i.created_at,
                    "updated_at": i.updated_at,
                }
                for s, i in rows
            ],
            indent=2,
        )
        return EXIT_SERVER if failed else EXIT_OK
    if rows:
        output.say(f"{'SERVER':<20} {'ID':<8}  {'STATUS':<20} {'COST':>9}  {'AGE':>4}  TITLE")
    now = datetime.now(UTC)
    for s, i in rows:
        output.say(
            f"{one_line(s.name, 20):<20} {one_line(i.id, 40)[:8]:<8}  {status_words(i):<20} {money(i.usage.cost):>9}  "
            f"{age(i.updated_at, now):>4}  {one_line(i.title or '(untitled)', 60)}"
        )
    answered = [(server, outcome) for server, outcome in outcomes if not isinstance(outcome, BaseException)]
    if rows:
        for server, infos in answered:
            total = sum(i.usage.cost for i in infos)
            output.say(f"total {one_line(server.name, 40)}: {_count(len(infos))}, {money(total)}")
        if len(ctx.servers) > 1:
            total = sum(i.usage.cost for _, i in rows)
            output.say(f"total: {_count(len(rows))} on {len(answered)} of {len(ctx.servers)} servers, {money(total)}")
    elif not failed:
        output.say("no conversations")
    return EXIT_SERVER if failed else EXIT_OK


def _count(n: int) -> str:
    return f"{n} conversation{'s' if n != 1 else ''}"


def matching_lines(event: Event, needle: str) -> list[str]:
    """The lines of a message that contain the text (case-insensitive, as the server matches)."""
    text = strip_control(event.text) if isinstance(event, MessageEvent) else ""
    folded = needle.casefold()
    return [one_line(line, 200) for line in text.splitlines() if folded in line.casefold()] or (
        [one_line(text, 200)] if text else []
    )


async def _search_server(client: AgentClient, needle: str) -> list[tuple[ConversationInfo, list[dict]]]:
    infos = await client.search_conversations()
    gate = asyncio.Semaphore(SEARCH_CONCURRENCY)

    async def one(info: ConversationInfo) -> tuple[ConversationInfo, list[dict]]:
        found: list[dict] = []
        page_id: str | None = None
        seen_pages: set[str] = set()
        async with gate:
            while len(found) < MATCHES_PER_CONVERSATION:
                events, page_id = await client.search_events(info.id, body=needle, limit=SEARCH_PAGE, page_id=page_id)
                for event in events:
                    for line in matching_lines(event, needle):
                        found.append(
                            {
                                "event_id": event.id,
                                "timestamp": event.timestamp,
                                "source": event.source,
                                "line": line,
                            }
                        )
                if not page_id or page_id in seen_pages:
                    break
                seen_pages.add(page_id)
        return info, found[:MATCHES_PER_CONVERSATION]

    results = await asyncio.gather(*(one(info) for info in infos))
    return [(info, found) for info, found in results if found]


async def verb_search(ctx, args) -> int:
    needle = args.text
    if not needle or not needle.strip():
        raise VerbError("the search text is empty", EXIT_USAGE)
    servers = ctx.servers  # `--server NAME|URL` picks them
    deadline = _deadline(args)

    async def search(server: ServerConfig):
        return await _search_server(ctx.clients[server.name], needle)

    outcomes = await per_server(servers, search, deadline, cap=deadline.remaining())
    failed = False
    hits: list[tuple[ServerConfig, ConversationInfo, list[dict]]] = []
    for server, outcome in outcomes:
        if isinstance(outcome, BaseException):
            output.warn(problem_text(server, outcome))
            failed = True
        else:
            hits.extend((server, info, found) for info, found in outcome)
    if args.json:
        output.say_json(
            [
                {
                    "server": s.name,
                    "server_url": s.url,
                    "id": i.id,
                    "title": i.title,
                    "status": i.execution_status,
                    "matches": found,
                }
                for s, i, found in hits
            ],
            indent=2,
        )
    else:
        for s, i, found in hits:
            output.say(
                f"{one_line(s.name, 20)} {one_line(i.id, 40)} [{status_words(i)}] {one_line(i.title or '(untitled)', 60)}"
            )
            for match in found:
                stamp = str(match["timestamp"] or "")
                stamp = stamp[:19].replace("T", " ")
                output.say(f"    {one_line(stamp, 19)} {one_line(match['source'] or '', 11)}: {match['line']}")
        if not hits and not failed:
            output.say(f"no conversation mentions {one_line(needle, 80)!r}")
    return EXIT_SERVER if failed else EXIT_OK
