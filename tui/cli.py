"""Command line: the TUI (no verb) and the headless verbs, a stable interface for scripts.

Imports of the heavy layers happen inside the verbs, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EPILOG = """\
servers:
  --server URL or NAME (repeatable; NAME picks a server of the config file), each followed by its own
  --session-key-env VAR (one given before any --server applies to all), or OPENHANDS_TUI_SERVERS (comma-separated URLs)
  with OPENHANDS_TUI_SESSION_KEY, or [[servers]] tables in the config file (openhands-tui config shows
  where). With none, the TUI starts its embedded demo server. Keys are read from environment variables,
  never from the command line.

exit codes:
  0 ok (send/new --wait: the turn finished)   1 a server could not be used (unreachable, unauthorized,
  dormant) or refused the request   2 usage error (bad arguments, an output file that cannot be written)
  3 turn ended in error   4 stuck   5 paused or waiting for confirmation   6 nothing to do (approve, reject,
  pause, interrupt, resume)   124 timed out. A closed standard output (`list | head`) ends a verb quietly.
"""


class Parser(argparse.ArgumentParser):
    """Usage errors are one line on standard error, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds, 0 or more: {value!r}")
    return number


def count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value!r}")
    return number


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openhands-tui")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """`--version`, with the package metadata read only when asked (start-up time)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(f"openhands-tui {_version()}\n")
        parser.exit(0)


class _ServerAction(argparse.Action):
    """--server URL, remembering which key variable belongs to it (`server_key_envs`, parallel to `server`)."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.server = [*(getattr(namespace, "server", None) or []), value]
        namespace.server_key_envs = [*(getattr(namespace, "server_key_envs", None) or []), None]


class _KeyEnvAction(argparse.Action):
    """--session-key-env VAR applies to the --server before it; given before any --server, to all of them."""

    def __call__(self, parser, namespace, value, option_string=None):
        per_server = list(getattr(namespace, "server_key_envs", None) or [])
        if per_server:
            per_server[-1] = value
            namespace.server_key_envs = per_server
        else:
            namespace.session_key_env = value


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before and after the verb: sub-parsers must not overwrite what the top level parsed.
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--server",
        action=_ServerAction,
        metavar="URL",
        default=default,
        help="agent server base URL, or the name of a configured server (repeatable)",
    )
    parser.add_argument(
        "--session-key-env",
        action=_KeyEnvAction,
        metavar="VAR",
        default=default,
        help="environment variable holding the session API key of the --server before it (before any --server: "
        "of every server)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="openhands-tui",
        description="A terminal UI for OpenHands agent servers. Without a verb, opens the TUI.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, top=True)
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument("--open", metavar="ID", default=None, help="TUI: open this conversation (id or unique prefix)")
    parser.add_argument("--continue", dest="continue_last", action="store_true", help="TUI: reopen the last one")
    parser.add_argument(
        "--reset-demo", action="store_true", help="TUI: start the embedded demo server with no conversations"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)

    def verb(name: str, help_text: str, description: str | None = None, *, common: bool = True):
        p = sub.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if common:
            _common(p, top=False)
        return p

    p = verb(
        "list",
        "list conversations on every configured server",
        "List conversations on every configured server, with a total per server and overall. Every server is\n"
        "asked at once; one that has not answered within the time limit is reported (exit 1) and the rest shown.",
    )
    p.add_argument("--json", action="store_true", help="one JSON array, for scripts (see docs/json.md)")
    p.add_argument(
        "--timeout", type=seconds, default=None, metavar="S", help="time limit for every server (default 20)"
    )

    p = verb(
        "search",
        "find conversations whose messages contain TEXT",
        "Find conversations whose messages contain TEXT (case-insensitive, the server's own event search),\n"
        "with the matching lines. Restrict it with --server NAME|URL.",
    )
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--json", action="store_true", help="one JSON array, for scripts (see docs/json.md)")
    p.add_argument(
        "--timeout", type=seconds, default=None, metavar="S", help="time limit for every server (default 20)"
    )

    p = verb(
        "new",
        "create a conversation and print its id",
        "Create a conversation. The event socket is attached before the first message is sent.",
    )
    p.add_argument("message", nargs="?", help="first message (optional; - reads it from standard input)")
    p.add_argument("--model", required=True, help="LLM model, e.g. anthropic/claude-sonnet-4-5")
    p.add_argument("--base-url", help="LLM base URL")
    p.add_argument("--llm-key-env", metavar="VAR", help="environment variable holding the LLM API key")
    p.add_argument("--workdir", required=True, help="working directory on the server (an absolute path)")
    p.add_argument("--confirm", action="store_true", help="ask for confirmation before every action")
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait until the first message's turn ends; the agent's answer on stdout, id and status on stderr",
    )
    p.add_argument(
        "--timeout", type=seconds, default=None, metavar="S", help="give up after S seconds, all included (exit 124)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/json.md)")

    p = verb(
        "send",
        "send a message (queued until the running turn ends)",
        "Send a message. While the agent is busy this waits for the running turn to end and then sends,\n"
        "so the message is answered; --interrupt stops the running turn and sends at once. With --timeout,\n"
        "a message still waiting for the turn to end when the time runs out is not sent (it says so).",
    )
    p.add_argument("id", help="conversation id (or a unique prefix)")
    p.add_argument("message", help="the message; - reads it from standard input")
    p.add_argument("--interrupt", action="store_true", help="interrupt the running turn, then send")
    p.add_argument(
        "--wait",
        action="store_true",
        help="return when this message's turn ends: the agent's answer on stdout, id and status on stderr",
    )
    p.add_argument(
        "--timeout",
        type=seconds,
        default=None,
        metavar="S",
        help="give up after S seconds, lookup included (exit 124)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (see docs/json.md)")

    p = verb(
        "watch",
        "print every event of conversations as they happen, exactly once, in order",
        "Print the history, then every new event as it happens, exactly once, in order; survives disconnects.",
    )
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--json", action="store_true", help="JSON lines (the server's event objects, see docs/json.md)")
    p.add_argument("--tail", type=count, default=None, metavar="N", help="start with only the newest N events")
    p.add_argument("--since", metavar="TIME|EVENT_ID", help="start at a time (ISO 8601) or just after an event")
    p.add_argument("--next", action="store_true", help="no history: only what comes after the command starts")
    p.add_argument(
        "--until-done",
        action="store_true",
        help="exit when the running turn ends (with --next: the next turn), with its exit code; "
        "at once when nothing runs",
    )
    p.add_argument("--timeout", type=seconds, default=None, metavar="S", help="give up after S seconds (exit 124)")

    p = verb("export", "export a conversation as Markdown or JSON")
    p.add_argument("id")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")

    nothing = "\nExit 6 (and a message) when there is nothing to do: "
    for name, text, when in (
        ("interrupt", "stop the running turn now", "nothing is running."),
        ("pause", "pause after the current step", "nothing is running."),
        (
            "resume",
            "resume a paused (or failed, or stuck) conversation, or run a message left unanswered",
            "it is not paused, failed or stuck and no message waits for an answer.",
        ),
        ("approve", "approve the actions waiting for confirmation", "nothing waits for confirmation."),
    ):
        verb(name, text, text[0].upper() + text[1:] + "." + nothing + when).add_argument("id")
    p = verb(
        "reject",
        "reject the actions waiting for confirmation",
        "Reject the actions waiting for confirmation." + nothing + "nothing waits for confirmation.",
    )
    p.add_argument("id")
    p.add_argument("--reason", default=None)
    verb("delete", "delete a conversation").add_argument("id")
    p = verb("rename", "set a conversation's title")
    p.add_argument("id")
    p.add_argument("title")

    p = verb("init", "wake a dormant (deferred-init) server")
    p.add_argument("--init-key-env", metavar="VAR", required=True, help="environment variable holding the init key")

    verb("config", "show where the config file and state live, and the servers in use")

    # The demo server has flags of its own (its --session-key-env names the key it demands).
    p = verb("demo-server", "run the embedded demo agent server (scripted agent, no LLM)", common=False)
    from tui.demo.cli import add_arguments

    add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verb = args.verb
    if verb is None:
        from tui.launch import run_tui

        return run_tui(args)
    if verb == "demo-server":
        from tui.demo.cli import run

        return run(args)
    from tui.headless import run_verb

    return run_verb(args)


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
