"""What every headless verb shares: servers from the arguments, finding a conversation, exit codes, errors."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tui.client import AgentClient, AgentServerError, Dormant
from tui.config import ConfigError, ServerConfig, resolve_servers
from tui.protocol import ConversationInfo, ExecutionStatus

EXIT_OK = 0
EXIT_SERVER = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_STUCK = 4
EXIT_STOPPED = 5  # paused or waiting for confirmation
EXIT_TIMEOUT = 124

NO_SERVER = (
    "no server configured: pass --server URL (with --session-key-env VAR if it needs a key), set "
    "OPENHANDS_TUI_SERVERS, or add [[servers]] to the config file. To try the embedded demo server, run "
    "`openhands-tui demo-server` in another terminal and pass the URL it prints."
)


class VerbError(Exception):
    """Ends a verb with a message on standard error and an exit code."""

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


def servers_from(args) -> list[ServerConfig]:
    try:
        servers = resolve_servers(
            getattr(args, "server", None),
            getattr(args, "session_key_env", None),
            server_key_envs=getattr(args, "server_key_envs", None),
        )
    except ConfigError as error:
        raise VerbError(str(error), EXIT_USAGE) from error
    if not servers:
        raise VerbError(NO_SERVER, EXIT_USAGE)
    return servers


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


async def find_conversation(servers: list[ServerConfig], clients: dict[str, AgentClient], ident: str) -> Found:
    """A full id or a unique prefix, looked up on every server; a server in trouble is reported, not fatal."""
    ident = ident.strip().lower()
    if len(ident) < 4:
        raise VerbError(f"conversation id {ident!r} is too short (give at least 4 characters)", EXIT_USAGE)
    matches: list[Found] = []
    problems: list[str] = []
    for server in servers:
        client = clients[server.name]
        try:
            if len(ident.replace("-", "")) == 32:
                try:
                    matches.append(Found(server, client, await client.get_conversation(ident)))
                    continue
                except AgentServerError as error:
                    if error.status not in (404, 422):
                        raise
                    continue
            for info in await client.search_conversations():
                if info.id.lower().startswith(ident) or info.id.replace("-", "").lower().startswith(ident):
                    matches.append(Found(server, client, info))
        except AgentServerError as error:
            problems.append(f"{server.name}: {describe(error)}")
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listing = ", ".join(f"{m.info.id} on {m.server.name}" for m in matches)
        raise VerbError(f"{ident!r} matches several conversations: {listing}", EXIT_USAGE)
    if problems:
        raise VerbError(f"conversation {ident!r} not found; and: " + "; ".join(problems), EXIT_SERVER)
    raise VerbError(f"conversation {ident!r} not found on {', '.join(s.name for s in servers)}", EXIT_SERVER)


def err(message: str) -> None:
    print(f"openhands-tui: {message}", file=sys.stderr, flush=True)
