"""Headless verbs: the same session logic as the TUI, for scripts (list, new, send, watch, export, ...)."""

from .verbs import run_verb

__all__ = ["run_verb"]
