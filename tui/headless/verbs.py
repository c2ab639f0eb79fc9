"""The headless verbs. Each returns an exit code; everything printed goes through `output` (server text is data)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tui.client import AgentClient, AgentServerError
from tui.config import ServerConfig, config_path, state_dir
from tui.protocol import ActionEvent, ExecutionStatus, MessageEvent, StartConversationRequest
from tui.protocol.labels import status_label
from tui.session import ChangeKind, ConnectionState, ConversationSession, Fleet, ItemState, SessionChange
from tui.session.capacity import retry_while_full

from . import output
from .callback import post_completion
from .common import (
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_SERVER,
    EXIT_STOPPED,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    Deadline,
    Found,
    VerbError,
    describe,
    exit_code_for,
    find_conversation,
    key_from_flag,
    servers_from,
)
from .export import to_json, to_markdown
from .listing import verb_list, verb_search
from .watch import verb_watch

CONNECT_SECONDS = 30.0
FULL_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)  # seconds between tries while a server is full (429)
FULL_WAIT = 60.0  # how long approve/reject/resume keep trying on a full server


class Context:
    """Clients for the configured servers, closed at the end of the verb."""

    def __init__(self, servers: list[ServerConfig]) -> None:
        self.servers = servers
        self.clients = {s.name: AgentClient(s.url, s.session_key) for s in servers}
        self.secrets = tuple(s.session_key for s in servers if s.session_key)
        output.set_secrets(self.secrets)

    async def aclose(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()

    async def find(self, ident: str, deadline: Deadline | None = None) -> Found:
        return await find_conversation(self.servers, self.clients, ident, deadline)


def message_from(value: str | None, *, required: bool = True) -> str | None:
    """The message argument; `-` reads it from standard input. Blank is a usage error."""
    if value is None and not required:
        return None
    if value == "-":
        value = sys.stdin.read().rstrip("\n")
    if not value or not value.strip():
        raise VerbError("the message is empty", EXIT_USAGE)
    return value


class Follower:
    """A session running in the background for a verb, with its error notices echoed to standard error."""

    def __init__(self, found: Found, deadline: Deadline) -> None:
        self.session = ConversationSession(found.client, found.info.id, server_name=found.server.name, info=found.info)
        self.session.subscribe(self._on_change)
        self.deadline = deadline
        self.task: asyncio.Task | None = None

    def _on_change(self, change: SessionChange) -> None:
        if change.kind is ChangeKind.NOTICE and change.severity == "error":
            output.warn(change.message)

    async def __aenter__(self) -> ConversationSession:
        session = self.session
        self.task = asyncio.create_task(session.run())
        ok = await session.wait_until(
            lambda: session.connection.state in (ConnectionState.LIVE, ConnectionState.STOPPED),
            self.deadline.remaining(CONNECT_SECONDS),
        )
        if session.connection.state is ConnectionState.STOPPED:
            error = session.connection.error
            raise VerbError(describe(error) if error else session.connection.reason)
        if not ok:
            if self.deadline.expired:
                raise VerbError(
                    f"timed out after {self.deadline.describe()} connecting to conversation {session.id}; "
                    "the message was not sent",
                    EXIT_TIMEOUT,
                )
            raise VerbError(f"could not follow conversation {session.id}: {session.connection.reason}")
        return session

    async def __aexit__(self, *exc) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


class FullNotice:
    """Says once on standard error when a full server (429) keeps the message waiting; the wait goes on."""

    def __init__(self, session: ConversationSession) -> None:
        self.session = session
        self.said = False
        self.unsubscribe = session.subscribe(self._on_change)

    def _on_change(self, change: SessionChange) -> None:
        waiting = getattr(self.session, "capacity_wait", None)
        if waiting and not self.said:
            self.said = True
            output.warn(f"{self.session.id}: {waiting}; waiting (server full)")


@dataclass(slots=True)
class Delivery:
    """What became of a message: `delivery` is "sent", "not_sent", "uncertain" or "stored" (a full server kept it
    but its run has not started); `status` is the turn's end
    (None when the time ran out, RUNNING when not waited for)."""

    delivery: str
    status: ExecutionStatus | None
    reply: str | None = None
    duration_s: float = 0.0


def _answer(event: object) -> tuple[bool, str] | None:
    """(is the finish message, text) when the event is the agent answering."""
    if isinstance(event, ActionEvent) and event.tool_name == "finish":
        message = (event.action or {}).get("message")
        if isinstance(message, str) and message.strip():
            return True, message
    elif isinstance(event, MessageEvent) and event.source == "agent" and event.text.strip():
        return False, event.text
    return None


class ReplyCollector:
    """The agent's answers that arrive after our message: the finish message wins, else the last message."""

    def __init__(self, session: ConversationSession, item_id: str) -> None:
        self.session = session
        self.item_id = item_id
        self.finish: str | None = None
        self.last: str | None = None
        self.unsubscribe = session.subscribe(self._on_change)

    def _on_change(self, change: SessionChange) -> None:
        if change.kind is not ChangeKind.EVENTS or self.session.turn.item_id != self.item_id:
            return  # only what our own turn says, not the turn we waited behind
        for event in change.events:
            answer = _answer(event)
            if answer is not None:
                if answer[0]:
                    self.finish = answer[1]
                else:
                    self.last = answer[1]

    @property
    def reply(self) -> str | None:
        return self.finish if self.finish is not None else self.last


async def deliver(
    session: ConversationSession, text: str, *, interrupt: bool, wait: bool, deadline: Deadline
) -> Delivery:
    """Queue semantics of the UI: delivered when the running turn ends; optionally wait for our own turn."""
    started = time.monotonic()
    item = await session.submit(text, interrupt=interrupt)
    replies = ReplyCollector(session, item.id)
    full = FullNotice(session)

    def sent() -> bool:
        return session.outbox.get(item.id) is None

    await session.wait_until(
        lambda: sent() or session.hold is not None or session.connection.state is ConnectionState.STOPPED,
        deadline.remaining(),
    )
    if not sent():
        if session.connection.state is ConnectionState.STOPPED:
            raise VerbError(session.connection.reason)
        queued = session.outbox.get(item.id)
        if session.hold:
            session.remove_queued(item.id)
            raise VerbError(f"message not sent: {session.hold}", EXIT_STOPPED)
        if queued is not None and queued.state is ItemState.SENDING:
            return Delivery("uncertain", None, duration_s=time.monotonic() - started)
        if queued is not None and queued.state is ItemState.STARTING:
            return Delivery("stored", None, duration_s=time.monotonic() - started)
        session.remove_queued(item.id)  # kept nowhere: this process held the only copy
        return Delivery("not_sent", None, duration_s=time.monotonic() - started)
    if not wait:
        return Delivery("sent", ExecutionStatus.RUNNING, duration_s=time.monotonic() - started)
    settled = await session.wait_until(lambda: item.id in session.settled, deadline.remaining())
    status = session.settled.get(item.id) if settled else None
    replies.unsubscribe()
    full.unsubscribe()
    if status is None and session.connection.state is ConnectionState.STOPPED:
        reason = session.connection.reason or "the connection ended"
        raise VerbError(f"the message was delivered, but following {session.id} stopped: {reason}")
    return Delivery("sent", status, replies.reply if status is not None else None, time.monotonic() - started)


def _timeout_text(cid: str, delivery: Delivery, deadline: Deadline) -> str:
    after = f"timed out after {deadline.describe()}"
    if delivery.delivery == "not_sent":
        return (
            f"{after} waiting for the running turn of {cid} to end: the message was NOT sent and is not "
            "queued anywhere (send it again)"
        )
    if delivery.delivery == "stored":
        return (
            f"{after} while the server was full: the message is stored in {cid} but its run has not started, "
            f"so it is not answered yet (start it with: openhands-tui resume {cid})"
        )
    if delivery.delivery == "uncertain":
        return f"{after} while the message was being delivered to {cid}: it may have arrived (check with export)"
    return f"{after}: the message was delivered; its turn continues on the server (conversation {cid})"


def report(args, session: ConversationSession, delivery: Delivery, *, waited: bool, deadline: Deadline) -> int:
    """stdout: the reply (or with --json the one object); stderr: the id and status, or what went wrong."""
    cid = session.id
    status = delivery.status
    if status is None:
        code = EXIT_TIMEOUT
    elif waited:
        code = exit_code_for(status)
    else:
        code = EXIT_OK
    if getattr(args, "json", False):
        usage = session.usage
        output.say_json(
            {
                "conversation_id": cid,
                "status": str(status) if status else "timeout",
                "exit_code": code,
                "delivery": delivery.delivery,
                "reply": delivery.reply,
                "cost": round(usage.cost, 6),
                "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
                "duration_s": round(delivery.duration_s, 3),
            }
        )
        if status is None:
            output.warn(_timeout_text(cid, delivery, deadline))
    elif status is None:
        output.warn(_timeout_text(cid, delivery, deadline))
    elif waited:
        if delivery.reply is not None:
            output.say(delivery.reply)
        output.note(f"{cid} {status_label(status)}")
    return code


async def verb_send(ctx: Context, args) -> int:
    text = message_from(args.message)
    assert text is not None
    deadline = Deadline(args.timeout)
    try:
        found = await ctx.find(args.id, deadline)
    except VerbError as error:
        if error.code == EXIT_TIMEOUT:
            error.message += "; the message was not sent"
        raise
    follower = Follower(found, deadline)
    async with follower as session:
        delivery = await deliver(session, text, interrupt=args.interrupt, wait=args.wait, deadline=deadline)
        if args.wait:
            await post_completion(found.info.id, delivery.status, None if delivery.status else "timed out")
        return report(args, session, delivery, waited=args.wait, deadline=deadline)


async def verb_new(ctx: Context, args) -> int:
    model = (args.model or "").strip()
    if not model:
        raise VerbError("--model must name a model, e.g. anthropic/claude-sonnet-4-5", EXIT_USAGE)
    if not _absolute(args.workdir):
        raise VerbError(f"--workdir must be an absolute path on the server, not {args.workdir!r}", EXIT_USAGE)
    text = message_from(args.message, required=False)
    llm_key = key_from_flag("--llm-key-env", args.llm_key_env)
    deadline = Deadline(args.timeout)
    server = ctx.servers[0]
    client = ctx.clients[server.name]
    request = StartConversationRequest.build(
        model=model, working_dir=args.workdir, base_url=args.base_url, api_key=llm_key, confirm=args.confirm
    )
    request.conversation_id = str(uuid.uuid4())  # a retry after a 429 asks for the same conversation
    try:
        info = await asyncio.wait_for(
            while_full(lambda: Fleet.over(server, client).create(server.name, request), "creating"),
            deadline.remaining(),
        )
    except TimeoutError:
        raise VerbError(
            f"timed out after {deadline.describe()} creating the conversation; it may exist on the server (list)",
            EXIT_TIMEOUT,
        ) from None
    if text is None:
        output.say_json({"conversation_id": info.id}) if args.json else output.say(info.id)
        return EXIT_OK
    if args.wait and not args.json:
        output.note(info.id)
    async with Follower(Found(server, client, info), deadline) as session:  # socket before the message
        if not args.wait and not args.json:
            output.say(info.id)
        delivery = await deliver(session, text, interrupt=False, wait=args.wait, deadline=deadline)
        if args.wait:
            await post_completion(info.id, delivery.status, None if delivery.status else "timed out")
            return report(args, session, delivery, waited=True, deadline=deadline)
        if delivery.status is None:
            output.warn(_timeout_text(info.id, delivery, deadline))
            return EXIT_TIMEOUT
    if args.json:
        output.say_json({"conversation_id": info.id})
    return EXIT_OK


async def while_full(call, what: str, limit: float | None = None):
    """Repeat `call()` while the server answers 429 (full, nothing stored), saying so once on standard error."""

    def waiting(on: bool) -> None:
        if on:
            output.warn(f"server full: {what} when a run slot frees; waiting")

    return await retry_while_full(call, on_wait=waiting, delays=FULL_BACKOFF, limit=limit)


def _absolute(path: str | None) -> bool:
    """Absolute on the server: POSIX (`/work`) or a Windows drive (`C:\\work`)."""
    if not path:
        return False
    return path.startswith("/") or (len(path) > 2 and path[1] == ":" and path[2] in "\\/")


async def verb_export(ctx: Context, args) -> int:
    target = Path(args.output) if args.output else None
    if target is not None and not target.parent.is_dir():
        raise VerbError(f"cannot write {args.output}: the directory {str(target.parent)!r} does not exist", EXIT_USAGE)
    found = await ctx.find(args.id)
    events = await found.client.all_events(found.info.id)
    render = to_json if args.format == "json" else to_markdown
    text = render(found.info, events, ctx.secrets)
    if target is None:
        output.write_raw(text)
        return EXIT_OK
    try:
        await asyncio.to_thread(target.write_text, text, encoding="utf-8")
    except OSError as error:
        raise VerbError(f"cannot write {args.output}: {error.strerror or error}", EXIT_USAGE) from None
    return EXIT_OK


# What each control verb needs the conversation to be, and what it says when there is nothing to do.
_NEEDS = {
    "interrupt": ({ExecutionStatus.RUNNING}, "nothing to interrupt"),
    "pause": ({ExecutionStatus.RUNNING}, "nothing to pause"),
    "resume": ({ExecutionStatus.PAUSED, ExecutionStatus.ERROR, ExecutionStatus.STUCK}, "nothing to resume"),
    "approve": ({ExecutionStatus.WAITING_FOR_CONFIRMATION}, "nothing is waiting for confirmation"),
    "reject": ({ExecutionStatus.WAITING_FOR_CONFIRMATION}, "nothing is waiting for confirmation"),
}


async def _unanswered(client: AgentClient, cid: str) -> bool:
    """The newest message is the user's: it waits for a run (e.g. stored by a full server that refused to run)."""
    events, _ = await client.search_events(cid, limit=1, descending=True, kind="MessageEvent")
    return bool(events) and isinstance(events[0], MessageEvent) and events[0].source == "user"


async def verb_simple(ctx: Context, args) -> int:
    found = await ctx.find(args.id)
    client, cid = found.client, found.info.id
    if args.verb in _NEEDS:
        needed, nothing = _NEEDS[args.verb]
        status = found.info.status
        if args.verb == "resume" and status in (ExecutionStatus.IDLE, ExecutionStatus.FINISHED):
            if await _unanswered(client, cid):
                needed = needed | {status}  # a message a full server stored without running it
        if status not in needed:
            shown = status_label(status) if status is not ExecutionStatus.UNKNOWN else "in an unknown state"
            output.warn(f"{cid}: {nothing} (the conversation is {shown})")
            return EXIT_NOTHING
    if args.verb == "interrupt":
        await client.interrupt(cid)
        output.say(f"{cid}: interrupt requested")
    elif args.verb == "pause":
        await client.pause(cid)
        output.say(f"{cid}: paused (after the current step)")
    elif args.verb == "resume":
        await while_full(lambda: client.run(cid), "resuming", FULL_WAIT)
        output.say(f"{cid}: resumed")
    elif args.verb == "approve":
        await while_full(lambda: client.respond_to_confirmation(cid, True), "approving", FULL_WAIT)
        output.say(f"{cid}: approved")
    elif args.verb == "reject":
        await while_full(lambda: client.respond_to_confirmation(cid, False, args.reason), "rejecting", FULL_WAIT)
        output.say(f"{cid}: rejected")
    elif args.verb == "delete":
        await Fleet.over(found.server, client).delete(found.server.name, cid)
        output.say(f"{cid}: deleted")
    elif args.verb == "rename":
        await Fleet.over(found.server, client).rename(found.server.name, cid, args.title)
        output.say(f"{cid}: renamed")
    return EXIT_OK


async def verb_init(ctx: Context, args) -> int:
    init_key = key_from_flag("--init-key-env", args.init_key_env)
    failed = False
    for server in ctx.servers:
        keys = [server.session_key] if server.session_key else None
        try:
            status = await ctx.clients[server.name].init(init_key or "", keys)
        except AgentServerError as error:
            output.warn(f"{server.name}: {describe(error)}")
            failed = True
            continue
        output.say(f"{server.name}: {status.state}")
    return EXIT_SERVER if failed else EXIT_OK


def verb_config(args) -> int:
    output.say(f"config file: {config_path()}")
    output.say(f"state directory: {state_dir()}")
    try:
        servers = servers_from(args)
    except VerbError as error:
        output.say(f"servers: {error.message}")
        return EXIT_OK
    for s in servers:
        key = f" (key from {s.session_key_env})" if s.session_key_env else (" (key set)" if s.session_key else "")
        output.say(f"server {s.name}: {s.url}{key}")
    return EXIT_OK


VERBS = {
    "list": verb_list,
    "search": verb_search,
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

# Verbs whose --timeout is enforced here for the whole verb; the others (send, new, list, search) keep their own
# deadline so they can say what happened and print what arrived in time.
_WHOLE_VERB_TIMEOUT = {"watch"}


async def _run(args) -> int:
    ctx = Context(servers_from(args))
    try:
        timeout = getattr(args, "timeout", None) if args.verb in _WHOLE_VERB_TIMEOUT else None
        if timeout is None:
            return await VERBS[args.verb](ctx, args)
        try:
            async with asyncio.timeout(timeout):
                return await VERBS[args.verb](ctx, args)
        except TimeoutError:
            raise VerbError(f"timed out after {timeout:g}s", EXIT_TIMEOUT) from None
    finally:
        await ctx.aclose()


def _quiet_stdout() -> None:
    """The reader went away: point stdout at /dev/null so the interpreter's final flush cannot complain."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run_verb(args) -> int:
    try:
        if args.verb == "config":
            return verb_config(args)
        return asyncio.run(_run(args))
    except output.OutputClosed:
        _quiet_stdout()
        return EXIT_OK
    except VerbError as error:
        output.warn(error.message)
        return error.code
    except AgentServerError as error:
        output.warn(describe(error))
        return EXIT_SERVER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_OK
    except Exception as error:  # a bug or data nothing expected: one line, non-zero, never a traceback
        output.warn(f"unexpected error ({type(error).__name__}): {error}")
        return EXIT_SERVER
