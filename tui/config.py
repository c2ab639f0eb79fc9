"""Servers, keys and preferences: command-line flags > environment > config file. No Textual here.

Keys are never taken from the command line itself: a flag names the environment variable that holds one.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from platformdirs import user_config_dir, user_state_dir

APP_NAME = "openhands-tui"
ENV_SERVERS = "OPENHANDS_TUI_SERVERS"  # comma-separated base URLs
ENV_SESSION_KEY = "OPENHANDS_TUI_SESSION_KEY"  # key for the servers named in ENV_SERVERS
ENV_CONFIG_DIR = "OPENHANDS_TUI_CONFIG_DIR"
ENV_STATE_DIR = "OPENHANDS_TUI_STATE_DIR"


class ConfigError(Exception):
    """A configuration a person must fix; the message says what and where."""


def config_dir() -> Path:
    return Path(os.environ.get(ENV_CONFIG_DIR) or user_config_dir(APP_NAME))


def state_dir() -> Path:
    return Path(os.environ.get(ENV_STATE_DIR) or user_state_dir(APP_NAME))


def config_path() -> Path:
    return config_dir() / "config.toml"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    name: str
    url: str
    session_key: str | None = field(default=None, repr=False)  # never printed
    session_key_env: str | None = None
    embedded: bool = False  # the demo server this process started itself
    default_model: str | None = None  # the New-conversation form's defaults (config file, per server)
    default_workdir: str | None = None


def normalize_url(url: str) -> str:
    """Validate a server base URL (scheme, host, optional path prefix) and drop the trailing slash."""
    raw = url.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"not a server URL: {raw!r} (expected http://host:port or https://host/prefix)")
    if parts.username or parts.password or parts.query:
        raise ConfigError(
            f"server URL {parts.scheme}://{parts.hostname}… must not carry credentials or a query; "
            "give the session key with --session-key-env VAR"
        )
    try:
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        raise ConfigError(f"bad port in server URL {raw!r}") from exc
    return raw.rstrip("/")


def key_from_env(var: str | None, env: Mapping[str, str]) -> str | None:
    if not var:
        return None
    value = env.get(var)
    if value is None:
        raise ConfigError(f"environment variable {var} (named by --session-key-env) is not set")
    return check_key(value, f"environment variable {var}")


def check_key(value: Any, where: str) -> str:
    """A key as it will travel in a header: a clear error (never the value, never a traceback) if it cannot."""
    if not isinstance(value, str):
        raise ConfigError(f"the session key in {where} must be a string")
    if value != value.strip():
        raise ConfigError(
            f"the session key in {where} has leading or trailing whitespace (a newline from a file or `echo`?); "
            "remove it"
        )
    if not value or any(not (32 < ord(ch) < 127) for ch in value):
        raise ConfigError(f"the session key in {where} is empty or has characters an HTTP header cannot carry")
    return value


def config_warnings(path: Path | None = None, file_config: dict[str, Any] | None = None) -> list[str]:
    """What a person should be told about the config file: a literal key in a file others can read."""
    path = path or config_path()
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    config = file_config if file_config is not None else load_config_file(path)
    entries = config.get("servers", [])
    literal = isinstance(entries, list) and any(isinstance(e, dict) and e.get("session_key") for e in entries)
    if literal and mode & 0o077:
        return [
            f"{path} holds a session key and can be read by other users (mode {mode & 0o777:o}); "
            f"run `chmod 600 {path}`, or name an environment variable with session_key_env instead"
        ]
    return []


def _server_name(url: str, taken: set[str]) -> str:
    parts = urlsplit(url)
    base = parts.hostname or "server"
    if parts.port:
        base = f"{base}:{parts.port}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}#{n}", n + 1
    return name


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc


def resolve_servers(
    cli_urls: list[str] | None = None,
    session_key_env: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    file_config: dict[str, Any] | None = None,
    server_key_envs: list[str | None] | None = None,
) -> list[ServerConfig]:
    """The servers to use. An empty list means: none configured (the app then starts the embedded server).
    `server_key_envs[i]` (from the command line) names the key variable of `cli_urls[i]`, else `session_key_env`."""
    env = os.environ if env is None else env
    taken: set[str] = set()
    servers: list[ServerConfig] = []

    def add(url: str, key: str | None, key_env: str | None, name: str | None = None) -> None:
        url = normalize_url(url)
        server_name = name or _server_name(url, taken)
        if server_name in taken:
            raise ConfigError(f"two servers are named {server_name!r}")
        taken.add(server_name)
        servers.append(ServerConfig(server_name, url, key, key_env))

    if cli_urls:
        per_server = list(server_key_envs or [])
        for n, url in enumerate(cli_urls):
            var = (per_server[n] if n < len(per_server) else None) or session_key_env
            add(url, key_from_env(var, env), var)
        return servers
    if env.get(ENV_SERVERS):
        key = key_from_env(session_key_env, env) if session_key_env else env.get(ENV_SESSION_KEY)
        if key is not None:
            key = check_key(key, f"environment variable {session_key_env or ENV_SESSION_KEY}")
        for url in env[ENV_SERVERS].split(","):
            if url.strip():
                add(url, key, session_key_env or (ENV_SESSION_KEY if key else None))
        return servers
    config = load_config_file() if file_config is None else file_config
    entries = config.get("servers", [])
    if not isinstance(entries, list):
        raise ConfigError("config file: `servers` must be a list of [[servers]] tables")
    for entry in entries:
        if not isinstance(entry, dict) or "url" not in entry:
            raise ConfigError("config file: every [[servers]] table needs a url")
        key_env = entry.get("session_key_env")
        literal = entry.get("session_key")
        key = key_from_env(key_env, env) if key_env else (check_key(literal, "the config file") if literal else None)
        add(str(entry["url"]), key, key_env, entry.get("name"))
        model, workdir = entry.get("default_model"), entry.get("default_workdir")
        if isinstance(model, str) or isinstance(workdir, str):
            servers[-1] = replace(
                servers[-1],
                default_model=model if isinstance(model, str) else None,
                default_workdir=workdir if isinstance(workdir, str) else None,
            )
    return servers


@dataclass(slots=True)
class Preferences:
    """Remembered between runs (written to the state directory)."""

    theme: str = "textual-dark"
    bell: bool = False  # switchable from the palette
    notify_background: bool = True
    reopen_last: bool = True  # open the conversation that was open when the app last quit
    list_hide_below: int = 80  # columns: narrower than this the list hides itself while in a conversation

    @classmethod
    def path(cls) -> Path:
        return state_dir() / "preferences.json"

    @classmethod
    def load(cls) -> Preferences:
        try:
            data = json.loads(cls.path().read_text())
        except (OSError, ValueError):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__} if isinstance(data, dict) else {}
        try:
            return cls(**known)
        except TypeError:
            return cls()

    def save(self) -> None:
        path = self.path()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # state is the user's own
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps({k: getattr(self, k) for k in self.__dataclass_fields__}))
            tmp.replace(path)
        except OSError:
            pass  # preferences are a convenience; never fail the app over them
