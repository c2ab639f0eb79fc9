"""The README's quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_them():
    install_and_run, test = quick_start()
    ci = (ROOT / ".ci" / "run").read_text()
    install = install_and_run.rsplit(" && ", 1)[0]
    assert install_and_run.endswith("openhands-tui")
    assert install in ci.splitlines()
    assert test in ci.splitlines()
