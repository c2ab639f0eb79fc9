"""What every headless verb shares: servers from the arguments, finding a conversation, deadlines, exit codes."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

from tui.client import AgentClient, AgentServerError, Dormant
from tui.config import ConfigError, ServerConfig, resolve_servers
from tui.protocol import ConversationInfo, ExecutionStatus
from tui.sanitize import one_line

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_STUCK = 4
EXIT_STOPPED = 5  # paused or waiting for confirmation
EXIT_NOTHING = 6  # approve/reject/pause/interrupt/resume: nothing to act on
EXIT_TIMEOUT = 124

# How long one server may take to answer a lookup (`find`, `list`, `search`) when no --timeout is given.
SERVER_SECONDS = 20.0

NO_SERVER = (
    "no server configured: pass --server URL (with --session-key-env VAR if it needs a key), set "
    "OPENHANDS_TUI_SERVERS, or add [[servers]] to the config file. To try the embedded demo server, run "
    "`openhands-tui demo-server` in another terminal and pass the URL it prints."
)


class VerbError(Exception):
    """Ends a verb with a one-line message on standard error and an exit code."""

    def __init__(self, message: str, code: int = EXIT_SERVER) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def exit_code_for(status: ExecutionStatus) -> int:
    if status is ExecutionStatus.FINISHED or status is ExecutionStatus.IDLE:
        return EXIT_OK
    if status is ExecutionStatus.ERROR:
        return EXIT_ERROR
    if status is ExecutionStatus.STUCK:
        return EXIT_STUCK
    return EXIT_STOPPED


class Deadline:
    """The whole verb's time budget (`--timeout`); None means no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self, cap: float | None = None) -> float | None:
        left = None if self.at is None else max(0.0, self.at - time.monotonic())
        if cap is None:
            return left
        return cap if left is None else min(cap, left)

    @property
    def expired(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at

    def describe(self) -> str:
        return f"{self.seconds:g}s" if self.seconds is not None else "the time limit"


def servers_from(args) -> list[ServerConfig]:
    """The servers a verb uses. `--server` takes a URL, or the name of a configured server (`--server prod`)."""
    values = list(getattr(args, "server", None) or [])
    key_env = getattr(args, "session_key_env", None)
    try:
        envs = list(getattr(args, "server_key_envs", None) or [])  # parallel to --server: each URL's own key
        names = [v for v in values if "://" not in v]
        chosen: list[ServerConfig] = []
        if names:
            configured = {s.name: s for s in resolve_servers(None, key_env)}
            chosen = [configured[n] for n in names if n in configured]
        urls = [
            (v, envs[n] if n < len(envs) else None)
            for n, v in enumerate(values)
            if "://" in v or v not in {c.name for c in chosen}
        ]
        if not urls and not chosen:  # no --server: the environment, else the config file
            servers = resolve_servers(None, key_env)
        else:
            servers = (
                resolve_servers([u for u, _ in urls], key_env, server_key_envs=[e for _, e in urls]) if urls else []
            ) + chosen
    except ConfigError as error:
        raise VerbError(str(error), EXIT_USAGE) from error
    if not servers:
        raise VerbError(NO_SERVER, EXIT_USAGE)
    return servers


def key_from_flag(flag: str, var: str | None) -> str | None:
    """The value of the environment variable a `--...-env VAR` flag names; errors name that flag."""
    if not var:
        return None
    value = os.environ.get(var)
    if value is None:
        raise VerbError(f"environment variable {var} (named by {flag}) is not set", EXIT_USAGE)
    if not value.strip():
        raise VerbError(f"environment variable {var} (named by {flag}) is empty", EXIT_USAGE)
    if value != value.strip():
        raise VerbError(
            f"environment variable {var} (named by {flag}) has leading or trailing whitespace; remove it",
            EXIT_USAGE,
        )
    return value


def describe(error: AgentServerError) -> str:
    message = error.message
    if isinstance(error, Dormant) and "openhands-tui init" not in message:
        message += " (wake it with: openhands-tui init --init-key-env VAR)"
    return message


@dataclass(slots=True)
class Found:
    server: ServerConfig
    client: AgentClient
    info: ConversationInfo


async def per_server(servers: list[ServerConfig], call, deadline: Deadline, cap: float | None = SERVER_SECONDS):
    """Run `call(server)` for every server at once, each in its own task, within the deadline (at most `cap`
    seconds): one slow server never holds up the others. Returns [(server, result | AgentServerError |
    TimeoutError)] in the servers' order."""
    budget = deadline.remaining(cap)
    tasks = [asyncio.create_task(call(server)) for server in servers]
    if tasks:
        await asyncio.wait(tasks, timeout=budget)
    out: list[tuple[ServerConfig, Any]] = []
    for server, task in zip(servers, tasks, strict=True):
        if not task.done():
            task.cancel()
            waited = f"{round(budget, 1):g}s" if budget is not None else "the time limit"
            out.append((server, TimeoutError(f"{server.name}: no answer within {waited}")))
            continue
        error = task.exception()
        if error is not None and not isinstance(error, AgentServerError):
            raise error
        out.append((server, error if error is not None else task.result()))
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def problem_text(server: ServerConfig, outcome: BaseException) -> str:
    if isinstance(outcome, AgentServerError):
        return f"{server.name}: {describe(outcome)}"
    return str(outcome)


async def find_conversation(
    servers: list[ServerConfig], clients: dict[str, AgentClient], ident: str, deadline: Deadline | None = None
) -> Found:
    """A full id or a unique prefix, looked up on every server at once; a server in trouble is reported, not
    fatal, and a slow one is given up on after its share of time."""
    ident = ident.strip().lower()
    if len(ident) < 4:
        raise VerbError(f"conversation id {one_line(ident)!r} is too short (give at least 4 characters)", EXIT_USAGE)
    full = len(ident.replace("-", "")) == 32

    async def lookup(server: ServerConfig) -> list[ConversationInfo]:
        client = clients[server.name]
        if full:
            try:
                return [await client.get_conversation(ident)]
            except AgentServerError as error:
                if error.status in (400, 404, 422):
                    return []
                raise
        return [
            info
            for info in await client.search_conversations()
            if info.id.lower().startswith(ident) or info.id.replace("-", "").lower().startswith(ident)
        ]

    outcomes = await per_server(servers, lookup, deadline or Deadline(None))
    matches: list[Found] = []
    problems: list[str] = []
    for server, outcome in outcomes:
        if isinstance(outcome, BaseException):
            problems.append(problem_text(server, outcome))
        else:
            matches.extend(Found(server, clients[server.name], info) for info in outcome)
    if len(matches) == 1:
        return matches[0]
    shown = one_line(ident, 40)
    if len(matches) > 1:
        listing = ", ".join(f"{one_line(m.info.id, 40)} on {m.server.name}" for m in matches)
        raise VerbError(f"{shown!r} matches several conversations: {listing}", EXIT_USAGE)
    if deadline is not None and deadline.expired:
        raise VerbError(f"timed out after {deadline.describe()} looking up conversation {shown!r}", EXIT_TIMEOUT)
    if problems:
        raise VerbError(f"conversation {shown!r} not found; and: " + "; ".join(problems), EXIT_SERVER)
    raise VerbError(f"conversation {shown!r} not found on {', '.join(s.name for s in servers)}", EXIT_SERVER)
