"""Where the first frame's time goes: `python -m bench.diag_first_frame [--profile]`.

Runs the app (`tui.cli.main(["--server", URL])`, the same path as `openhands-tui --server URL`) on a 120x40
pseudo-terminal next to a Textual hello-world, and reports for each (median of fresh processes):

- the CPU time of the process at its first frame (`time.process_time()`): on a loaded machine the wall clock
  measures the others; the first frame waits on nothing but this CPU;
- the same for a skeleton: the app's layout with Textual's widgets only (the floor of a first frame painted
  before the session, client and protocol imports);
- phases since the spawn (CLOCK_MONOTONIC, shared by both processes): interpreter up → `tui.cli.main` → `run_app` (the imports of the app
  layer happen here) → `OpenHandsApp.__init__` → `on_mount` → the first composited frame (`App._display`);
- `-X importtime` of the modules imported before the first frame, summed per top-level package, app minus
  hello-world: what the app imports that the hello-world does not;
- with `--profile`, a cProfile of the same run (imports excluded) until the first frame: the calls that cost.

Writes bench/results/first_frame.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PY, DemoProcess, child_env, compile_app, median, pty_run

RESULTS = Path(__file__).resolve().parent / "results"


# ------------------------------------------------------------------------------------------- in the child


def _child(kind: str, url: str, out: str, profile: bool) -> None:
    """Runs on the pty. Records phase times (perf_counter since interpreter start), exits after the first frame."""
    marks: dict[str, float] = {"child_main": time.perf_counter()}
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    import textual.app

    marks["textual_imported"] = time.perf_counter()
    original = textual.app.App._display

    def display(self, screen, renderable):
        original(self, screen, renderable)
        if renderable is not None and "first_frame" not in marks:
            marks["first_frame"] = time.perf_counter()
            marks["cpu_s_at_first_frame"] = time.process_time()  # CPU since the process started: load-proof
            if prof is not None:
                prof.disable()
                prof.dump_stats(out + ".prof")
            Path(out).write_text(json.dumps(marks))
            self.exit()

    textual.app.App._display = display  # type: ignore[method-assign]
    if kind == "hello":
        from textual.app import App, ComposeResult
        from textual.widgets import Static

        class Hello(App):
            def compose(self) -> ComposeResult:
                yield Static("Hello, world")

        Hello().run()
        return
    if kind == "skeleton":
        # The app's layout with Textual's widgets only (no tui.session/client/protocol, no markdown): what a
        # first frame painted before those imports would cost.
        from textual.app import App, ComposeResult
        from textual.containers import Horizontal, Vertical, VerticalScroll
        from textual.widgets import Footer, OptionList, Static, TextArea

        class Skeleton(App):
            def compose(self) -> ComposeResult:
                with Horizontal():
                    yield OptionList(*[f"conversation {i}" for i in range(20)])
                    with Vertical():
                        yield Static("No conversation open")
                        yield VerticalScroll()
                        yield Static("status")
                        yield TextArea("")
                yield Footer()

        Skeleton().run()
        return
    import tui.app

    run_app = tui.app.run_app

    def timed_run_app(fleet, preferences=None, **options):
        marks["run_app"] = time.perf_counter()
        from tui.app.app import OpenHandsApp

        marks["app_module_imported"] = time.perf_counter()
        init, mount = OpenHandsApp.__init__, OpenHandsApp.on_mount

        def __init__(self, *a, **k):
            marks.setdefault("app_init", time.perf_counter())
            init(self, *a, **k)
            marks.setdefault("app_init_done", time.perf_counter())

        def on_mount(self):
            marks.setdefault("on_mount", time.perf_counter())
            mount(self)
            marks.setdefault("on_mount_done", time.perf_counter())

        OpenHandsApp.__init__ = __init__  # type: ignore[method-assign]
        OpenHandsApp.on_mount = on_mount  # type: ignore[method-assign]
        run_app(fleet, preferences, **options)

    tui.app.run_app = timed_run_app
    from tui.cli import main

    marks["cli_imported"] = time.perf_counter()
    main(["--server", url])


# ------------------------------------------------------------------------------------------- in the parent


def _importtime(code: str) -> collections.Counter:
    """Self import time (ms) per top-level package of what `code` imports."""
    import subprocess

    err = subprocess.run([PY, "-X", "importtime", "-c", code], capture_output=True, text=True, env=child_env()).stderr
    tot: collections.Counter = collections.Counter()
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            name = m.group(4)
            top = name.split(".")[0]
            if top == "tui":
                top = ".".join(name.split(".")[:2])
            tot[top] += int(m.group(1)) / 1000
    return tot


# What the app imports before its first frame (the modules loaded by the time `run_app` builds the app), and what
# the hello-world imports.
APP_IMPORTS = "import tui.cli, tui.launch, tui.app.app, tui.session"
HELLO_IMPORTS = "import textual.app, textual.widgets; from textual.widgets import Static"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.diag_first_frame", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also a cProfile of one run until the first frame")
    parser.add_argument("--_child", nargs=4, metavar=("KIND", "URL", "OUT", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._child:
        kind, url, out, profile = args._child
        _child(kind, url, out, profile == "1")
        return 0
    compile_app()
    tmp = tempfile.mkdtemp()
    env = child_env(
        XDG_CONFIG_HOME=tmp + "/c", XDG_STATE_HOME=tmp + "/s", XDG_DATA_HOME=tmp + "/d", XDG_CACHE_HOME=tmp + "/ca"
    )
    result: dict = {"load_avg_before": os.getloadavg()}
    with DemoProcess("--seed-conversations", "20") as server:
        runs: dict[str, list[dict]] = {"hello": [], "app": [], "skeleton": []}
        for i in range(args.repeat):
            for kind in runs:
                out = f"{tmp}/{kind}{i}.json"
                spawn = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the child's perf_counter
                pty_run(
                    [PY, "-m", "bench.diag_first_frame", "--_child", kind, server.base_url, out, "0"],
                    duration=15,
                    env=env,
                    skip=0,
                )
                marks = json.loads(Path(out).read_text()) if Path(out).exists() else {}
                runs[kind].append({"spawn": spawn, **marks})
        phases = {}
        cpu = {kind: median([r.get("cpu_s_at_first_frame") for r in rs]) for kind, rs in runs.items()}
        result["cpu_ms_to_first_frame"] = {kind: 1000 * v for kind, v in cpu.items()}
        result["first_frame_cpu_ratio"] = cpu["app"] / cpu["hello"]
        result["skeleton_cpu_ratio"] = cpu["skeleton"] / cpu["hello"]
        for kind, rs in runs.items():
            keys = [k for k in rs[0] if k not in ("spawn", "cpu_s_at_first_frame")]
            phases[kind] = {k: 1000 * median([r[k] - r["spawn"] for r in rs if k in r]) for k in keys}
        result["phases_ms_since_spawn"] = phases
        result["first_frame_ratio_in_process"] = phases["app"]["first_frame"] / phases["hello"]["first_frame"]
        if args.profile:
            out = f"{tmp}/profile.json"
            pty_run(
                [PY, "-m", "bench.diag_first_frame", "--_child", "app", server.base_url, out, "1"],
                duration=20,
                env=env,
                skip=0,
            )
            result["profile"] = _profile_summary(out + ".prof")
    app_imp = _importtime(APP_IMPORTS)
    hello_imp = _importtime(HELLO_IMPORTS)
    extra = {k: round(v - hello_imp.get(k, 0.0), 1) for k, v in app_imp.items()}
    result["import_ms_total"] = {"app": round(sum(app_imp.values()), 1), "hello": round(sum(hello_imp.values()), 1)}
    result["import_ms_extra_by_package"] = dict(sorted(extra.items(), key=lambda kv: -kv[1])[:30])
    result["load_avg_after"] = os.getloadavg()
    result["runs"] = runs
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "first_frame.json").write_text(json.dumps(result, indent=2))
    _print(result)
    return 0


def _profile_summary(path: str) -> list[dict]:
    """The 40 functions with the largest cumulative time outside the import machinery."""
    import pstats

    stats = pstats.Stats(path)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "importlib" in file or func in ("<module>", "exec"):
            continue
        rows.append(
            {"where": f"{Path(file).name}:{line}:{func}", "calls": nc, "self_ms": tt * 1000, "cum_ms": ct * 1000}
        )
    rows.sort(key=lambda r: -r["cum_ms"])
    return [{k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()} for r in rows[:40]]


def _print(result: dict) -> None:
    print(f"load {result['load_avg_before'][0]:.2f} → {result['load_avg_after'][0]:.2f}")
    for kind, ph in result["phases_ms_since_spawn"].items():
        print(f"{kind}: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(ph.items(), key=lambda kv: kv[1])))
    print(f"first frame ratio (spawn → first composited frame): x{result['first_frame_ratio_in_process']:.2f}")
    c = result["cpu_ms_to_first_frame"]
    print(
        f"CPU to the first frame: app {c['app']:.0f} ms / hello {c['hello']:.0f} ms = "
        f"x{result['first_frame_cpu_ratio']:.2f} (what the wall-clock ratio is on an idle machine); the app's layout "
        f"with Textual widgets only {c['skeleton']:.0f} ms (x{result['skeleton_cpu_ratio']:.2f}): the floor of a "
        "first frame painted before the session, client and protocol imports"
    )
    print(
        f"imports (self ms, -X importtime): app {result['import_ms_total']['app']} / hello {result['import_ms_total']['hello']}"
    )
    for k, v in result["import_ms_extra_by_package"].items():
        print(f"  {k:40s} {v:+7.1f} ms")
    for row in result.get("profile", [])[:25]:
        print(f"  {row['cum_ms']:8.1f} ms cum {row['self_ms']:7.1f} self {row['calls']:6d}x {row['where']}")


if __name__ == "__main__":
    sys.exit(main())
