"""The headless verbs. Each returns an exit code; errors a person must read go to standard error."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tui.client import AgentClient, AgentServerError
from tui.config import ConfigError, ServerConfig, config_path, key_from_env, state_dir
from tui.protocol import (
    ConversationInfo,
    ConversationStateUpdateEvent,
    Event,
    ExecutionStatus,
    StartConversationRequest,
    UsageTotals,
)
from tui.sanitize import json_text, one_line
from tui.session import ChangeKind, ConnectionState, ConversationSession, Fleet, SessionChange

from .callback import post_completion
from .common import (
    EXIT_OK,
    EXIT_SERVER,
    EXIT_STOPPED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    VerbError,
    describe,
    err,
    exit_code_for,
    find_conversation,
    servers_from,
)
from .export import event_summary, to_json, to_markdown


def _age(stamp: str | None) -> str:
    if not stamp:
        return "-"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Context:
    """Clients for the configured servers, closed at the end of the verb."""

    def __init__(self, servers: list[ServerConfig]) -> None:
        self.servers = servers
        self.clients = {s.name: AgentClient(s.url, s.session_key) for s in servers}
        self.secrets = tuple(s.session_key for s in servers if s.session_key)

    async def aclose(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()

    async def find(self, ident: str):
        return await find_conversation(self.servers, self.clients, ident)


async def verb_list(ctx: Context, args) -> int:
    rows: list[tuple[ServerConfig, ConversationInfo]] = []
    failed = False
    for server in ctx.servers:
        try:
            infos = await ctx.clients[server.name].search_conversations()
        except AgentServerError as error:
            err(f"{server.name}: {describe(error)}")
            failed = True
            continue
        rows.extend((server, info) for info in infos)
    if args.json:
        print(
            json.dumps(
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
        )
    else:
        if rows:
            print(f"{'SERVER':<20} {'ID':<8}  {'STATUS':<24} {'COST':>8}  {'AGE':>4}  TITLE")
        for s, i in rows:
            print(
                f"{one_line(s.name, 20):<20} {i.id[:8]}  {i.execution_status:<24} ${i.usage.cost:>7.4f}  "
                f"{_age(i.updated_at):>4}  {one_line(i.title or '(untitled)', 60)}"
            )
        if not rows and not failed:
            print("no conversations")
    return EXIT_SERVER if failed else EXIT_OK


class Follower:
    """A session running in the background for a verb, with its notices echoed to standard error."""

    def __init__(self, client: AgentClient, conversation_id: str, *, server_name: str = "") -> None:
        self.session = ConversationSession(client, conversation_id, server_name=server_name)
        self.session.subscribe(self._on_change)
        self.task: asyncio.Task | None = None

    def _on_change(self, change: SessionChange) -> None:
        if change.kind is ChangeKind.NOTICE and change.severity == "error":
            err(change.message)

    async def __aenter__(self) -> ConversationSession:
        self.task = asyncio.create_task(self.session.run())
        ok = await self.session.wait_until(
            lambda: self.session.connection.state in (ConnectionState.LIVE, ConnectionState.STOPPED), 30.0
        )
        if self.session.connection.state is ConnectionState.STOPPED:
            error = self.session.connection.error
            raise VerbError(describe(error) if error else self.session.connection.reason)
        if not ok:
            raise VerbError(f"could not follow conversation {self.session.id}: {self.session.connection.reason}")
        return self.session

    async def __aexit__(self, *exc) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


async def _send_and_wait(
    session: ConversationSession, text: str, *, interrupt: bool, wait: bool, deadline: float | None
) -> ExecutionStatus | None:
    """Queue semantics of the UI: delivered when the running turn ends; optionally wait for our own turn."""
    item = await session.submit(text, interrupt=interrupt)

    def remaining() -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def sent() -> bool:
        return session.outbox.get(item.id) is None

    await session.wait_until(
        lambda: sent() or session.hold is not None or session.connection.state is ConnectionState.STOPPED,
        remaining(),
    )
    if not sent():
        if session.connection.state is ConnectionState.STOPPED:
            raise VerbError(session.connection.reason)
        if session.hold:
            session.remove_queued(item.id)
            raise VerbError(f"message not sent: {session.hold}", EXIT_STOPPED)
        return None
    if not wait:
        return ExecutionStatus.RUNNING
    settled = await session.wait_until(lambda: item.id in session.settled, remaining())
    return session.settled.get(item.id) if settled else None


def _report(args, conversation_id: str, status: ExecutionStatus | None, *, waited: bool) -> int:
    if status is None:
        code = EXIT_TIMEOUT
    elif waited:
        code = exit_code_for(status)
    else:
        code = EXIT_OK
    if getattr(args, "json", False):
        print(
            json.dumps(
                {"conversation_id": conversation_id, "status": str(status) if status else "timeout", "exit_code": code}
            )
        )
    elif status is None:
        err(f"timed out; conversation {conversation_id} continues on the server")
    elif waited:
        print(f"{conversation_id} {status}")
    return code


async def verb_send(ctx: Context, args) -> int:
    found = await ctx.find(args.id)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    async with Follower(found.client, found.info.id, server_name=found.server.name) as session:
        status = await _send_and_wait(
            session, args.message, interrupt=args.interrupt, wait=args.wait, deadline=deadline
        )
    if args.wait:
        await post_completion(found.info.id, status, None if status else "timed out")
    return _report(args, found.info.id, status, waited=args.wait)


async def verb_new(ctx: Context, args) -> int:
    server = ctx.servers[0]
    client = ctx.clients[server.name]
    try:
        llm_key = key_from_env(args.llm_key_env, os.environ)
    except ConfigError as error:
        raise VerbError(str(error), EXIT_USAGE) from error
    request = StartConversationRequest.build(
        model=args.model, working_dir=args.workdir, base_url=args.base_url, api_key=llm_key, confirm=args.confirm
    )
    info = await Fleet.over(server, client).create(server.name, request)
    if not args.message:
        print(json.dumps({"conversation_id": info.id}) if args.json else info.id)
        return EXIT_OK
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    async with Follower(client, info.id, server_name=server.name) as session:  # socket before the message
        if not args.json:
            print(info.id, flush=True)
        status = await _send_and_wait(session, args.message, interrupt=False, wait=args.wait, deadline=deadline)
    if args.wait:
        await post_completion(info.id, status, None if status else "timed out")
        return _report(args, info.id, status, waited=True)
    if args.json:
        print(json.dumps({"conversation_id": info.id}))
    return EXIT_OK


def _event_line(event: Event) -> str:
    stamp = event.timestamp[11:19] if len(event.timestamp) >= 19 else event.timestamp
    if isinstance(event, ConversationStateUpdateEvent) and event.key == "stats":
        usage = UsageTotals.from_stats(event.value)
        text = f"stats: ${usage.cost:.4f}, {usage.prompt_tokens} tokens in, {usage.completion_tokens} out"
    elif isinstance(event, ConversationStateUpdateEvent):
        text = f"{event.key} = {one_line(json.dumps(event.value) if not isinstance(event.value, str) else event.value, 80)}"
    else:
        text = event_summary(event)
    return f"{stamp} {event.kind:<28} {one_line(event.source or '', 11):<11} {text}"


async def verb_watch(ctx: Context, args) -> int:
    founds = [await ctx.find(ident) for ident in args.ids]
    several = len(founds) > 1
    out = sys.stdout

    def printer(found):
        def on_change(change: SessionChange) -> None:
            if change.kind is ChangeKind.EVENTS:
                for event in change.events:
                    if args.json:
                        wire = event.to_wire()
                        if several:
                            wire = {"conversation_id": found.info.id, **wire}
                        out.write(json_text(wire) + "\n")
                    else:
                        prefix = f"{found.info.id[:8]} " if several else ""
                        out.write(prefix + _event_line(event) + "\n")
                out.flush()
            elif change.kind is ChangeKind.CONNECTION and not args.json:
                return

        return on_change

    sessions = []
    tasks = []
    for found in founds:
        session = ConversationSession(found.client, found.info.id, server_name=found.server.name, info=found.info)
        session.subscribe(printer(found))
        sessions.append(session)
        tasks.append(asyncio.create_task(session.run()))

    def done(session: ConversationSession) -> bool:
        return session.connection.state is ConnectionState.STOPPED or (
            session.connection.state is ConnectionState.LIVE
            and not session.turn.active
            and not session.status.is_busy()
            and not session._tasks
        )

    try:
        if args.until_done:
            await asyncio.gather(*(s.wait_until(functools.partial(done, s)) for s in sessions))
        else:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    stopped = [s for s in sessions if s.connection.state is ConnectionState.STOPPED and s.connection.error]
    for s in stopped:
        err(f"{s.id}: {s.connection.reason}")
    if stopped:
        return EXIT_SERVER
    return max((exit_code_for(s.status) for s in sessions), default=EXIT_OK) if args.until_done else EXIT_OK


async def verb_export(ctx: Context, args) -> int:
    found = await ctx.find(args.id)
    events = await found.client.all_events(found.info.id)
    render = to_json if args.format == "json" else to_markdown
    text = render(found.info, events, ctx.secrets)
    if args.output:
        await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


async def verb_simple(ctx: Context, args) -> int:
    found = await ctx.find(args.id)
    client, cid = found.client, found.info.id
    if args.verb == "interrupt":
        await client.interrupt(cid)
        print(f"{cid}: interrupt requested")
    elif args.verb == "pause":
        await client.pause(cid)
        print(f"{cid}: paused (after the current step)")
    elif args.verb == "resume":
        await client.run(cid)
        print(f"{cid}: resumed")
    elif args.verb == "approve":
        await client.respond_to_confirmation(cid, True)
        print(f"{cid}: approved")
    elif args.verb == "reject":
        await client.respond_to_confirmation(cid, False, args.reason)
        print(f"{cid}: rejected")
    elif args.verb == "delete":
        await Fleet.over(found.server, client).delete(found.server.name, cid)
        print(f"{cid}: deleted")
    elif args.verb == "rename":
        await Fleet.over(found.server, client).rename(found.server.name, cid, args.title)
        print(f"{cid}: renamed")
    return EXIT_OK


async def verb_init(ctx: Context, args) -> int:
    try:
        init_key = key_from_env(args.init_key_env, os.environ)
    except ConfigError as error:
        raise VerbError(str(error), EXIT_USAGE) from error
    failed = False
    for server in ctx.servers:
        keys = [server.session_key] if server.session_key else None
        try:
            status = await ctx.clients[server.name].init(init_key or "", keys)
        except AgentServerError as error:
            err(f"{server.name}: {describe(error)}")
            failed = True
            continue
        print(f"{server.name}: {status.state}")
    return EXIT_SERVER if failed else EXIT_OK


def verb_config(args) -> int:
    print(f"config file: {config_path()}")
    print(f"state directory: {state_dir()}")
    try:
        servers = servers_from(args)
    except VerbError as error:
        print(f"servers: {error.message}")
        return EXIT_OK
    for s in servers:
        key = f" (key from {s.session_key_env})" if s.session_key_env else (" (key set)" if s.session_key else "")
        print(f"server {s.name}: {s.url}{key}")
    return EXIT_OK


VERBS = {
    "list": verb_list,
    "send": verb_send,
    "new": verb_new,
    "watch": verb_watch,
    "export": verb_export,
    "interrupt": verb_simple,
    "pause": verb_simple,
    "resume": verb_simple,
    "approve": verb_simple,
    "reject": verb_simple,
    "delete": verb_simple,
    "rename": verb_simple,
    "init": verb_init,
}


async def _run(args) -> int:
    ctx = Context(servers_from(args))
    try:
        return await VERBS[args.verb](ctx, args)
    finally:
        await ctx.aclose()


def run_verb(args) -> int:
    if args.verb == "config":
        return verb_config(args)
    try:
        return asyncio.run(_run(args))
    except VerbError as error:
        err(error.message)
        return error.code
    except AgentServerError as error:
        err(describe(error))
        return EXIT_SERVER
    except KeyboardInterrupt:
        return 130
