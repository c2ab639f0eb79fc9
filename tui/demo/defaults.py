"""Knob defaults, importable without loading the server (the CLI's --help must stay fast)."""

DEFAULT_SLOW_SECONDS = 4.0
DEFAULT_TOKEN_RATE = 40.0
PROTOCOLS = ("1.58", "1.43")
PROTOCOL_DEFAULT = "1.58"
