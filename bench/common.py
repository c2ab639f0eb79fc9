"""Shared plumbing of the benchmarks: the demo server as a subprocess, child processes that print one JSON
result, a pty runner that counts the bytes an app writes, medians."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def compile_app() -> None:
    """Byte-compile the app's modules, as an installed package has them (pip compiles at install): on a machine
    that sets PYTHONDONTWRITEBYTECODE every start would otherwise compile ~50 modules from source (~60 ms) while
    Textual's come compiled, which is not what a user's start costs."""
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "tui")], check=False, capture_output=True)


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **extra)
    env.pop("OPENHANDS_TUI_SERVERS", None)
    return env


class DemoProcess:
    """`python -m tui.demo --port 0 ...` in its own process (so its CPU is not the client's)."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> DemoProcess:
        self.proc = subprocess.Popen(
            [PY, "-m", "tui.demo", "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=child_env(),
        )
        deadline = time.monotonic() + 120
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "listening on" in line:
                self.base_url = line.split("listening on", 1)[1].strip()
                return self
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("demo server did not start")

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ProxyProcess:
    """`python -m bench.proxy PORT --rtt S --log FILE` in its own process, in front of a demo server."""

    def __init__(self, target_url: str, rtt: float, log: str) -> None:
        self.target_port = int(target_url.rsplit(":", 1)[1].strip("/"))
        self.rtt = rtt
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> ProxyProcess:
        Path(self.log).unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [PY, "-m", "bench.proxy", str(self.target_port), "--rtt", str(self.rtt), "--log", self.log],
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError("proxy did not start")
        self.base_url = line.split("listening on", 1)[1].strip()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_child(name: str, timeout: float = 600, module: str = "bench.children", **kwargs: Any) -> dict[str, Any]:
    """Run `<module>.<name>(**kwargs)` in a fresh interpreter; returns the JSON dict it prints last."""
    try:
        out = subprocess.run(
            [PY, "-m", module, name, json.dumps(kwargs)],
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"timed_out_after_s": timeout}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"{name} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pty_run(
    cmd: list[str],
    *,
    cols: int = 120,
    rows: int = 40,
    duration: float,
    until: bytes | None = None,
    env: dict[str, str] | None = None,
    skip: float = 1.5,
    on_start=None,
    stop_at_marker: bool = False,
) -> dict[str, Any]:
    """Run `cmd` on a fresh pty (cols x rows) for `duration` s; count the bytes it writes after `skip` s, and the
    time until `until` first appears in the output. Returns bytes/s, first-marker time and the child's CPU."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = dict(env or child_env())
    full_env.update(TERM="xterm-256color", COLORTERM="truecolor", COLUMNS=str(cols), LINES=str(rows))

    def pre() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env, preexec_fn=pre, cwd=ROOT)
    os.close(slave)
    buf = bytearray()
    counted = 0
    first = None
    started = False
    try:
        while True:
            now = time.perf_counter() - t0
            if now > duration:
                break
            r, _, _ = select.select([master], [], [], 0.1)
            if master in r:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                if first is None:
                    buf.extend(data)
                    if until is not None and until in buf:
                        first = time.perf_counter() - t0
                        buf.clear()
                        if stop_at_marker:
                            break
                        if on_start is not None and not started:
                            started = True
                            on_start()
                if now >= skip:
                    counted += len(data)
            elif proc.poll() is not None:
                break
    finally:
        with_usage = None
        try:
            proc.send_signal(signal.SIGTERM)
            reaped = proc.poll() is not None  # it exited by itself (and was reaped): no usage to read
            for _ in range(0 if reaped else 50):
                pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    with_usage = usage
                    break
                try:
                    while select.select([master], [], [], 0.05)[0]:
                        if not os.read(master, 65536):
                            break
                except OSError:
                    pass
            if with_usage is None and not reaped:
                proc.kill()
                _, _, with_usage = os.wait4(proc.pid, 0)
        finally:
            os.close(master)
    window = max(0.001, min(duration, time.perf_counter() - t0) - skip)
    return {
        "bytes_per_s": counted / window,
        "first": first,
        "cpu_s": (with_usage.ru_utime + with_usage.ru_stime) if with_usage else None,
    }


async def drive_turns(
    base_url: str,
    cid: str,
    text: str,
    seconds: float,
    started: asyncio.Event | None = None,
    max_turns: int | None = None,
) -> int:
    """Send `text` turn after turn to one conversation for `seconds` (each waits for the previous to end), or
    `max_turns` turns."""
    from tui.client import AgentClient
    from tui.session import ConversationSession

    turns = 0
    async with AgentClient(base_url) as client:
        session = ConversationSession(client, cid)
        task = asyncio.create_task(session.run())
        try:
            await session.wait_live(20)
            end = time.monotonic() + seconds
            while time.monotonic() < end or (max_turns is not None and turns < max_turns):
                if max_turns is not None and turns >= max_turns:
                    break
                item = await session.submit(text)
                await session.wait_until(lambda: item.id in session.settled, 120)
                turns += 1
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return turns


async def new_streaming_conversation(base_url: str) -> str:
    from tui.client import AgentClient
    from tui.protocol import StartConversationRequest

    async with AgentClient(base_url) as client:
        req = StartConversationRequest.build(model="demo/scripted", working_dir="/tmp/bench")
        req.agent["llm"]["stream"] = True
        return (await client.create_conversation(req)).id
