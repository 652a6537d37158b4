"""Run every benchmark and write ``BENCHMARKS.md`` (``make bench``; not part of ``make test``).

Each ``benchmarks/<name>.py`` is a program that prints its figures and peer ratios as Markdown
and ends with one ``BENCH-RESULT {json}`` line (:mod:`benchmarks._report`). This runner executes
them one after another in fresh processes (so peak memory is per benchmark), each with its
default arguments (:data:`DEFAULTS`: chosen so that the whole run takes about 45–60 minutes on
2 cores), records the load average before and after each, and writes the report: machine, date,
commit, the summary table against the goals and the peers built from the result lines, then
each benchmark's own section.

Usage::

    python -m benchmarks                       # all, at the default scales
    python -m benchmarks --scale 0.05          # every benchmark with --scale at 0.05
    python -m benchmarks --quick --out /tmp/b.md   # smallest workloads: checks the plumbing
    python -m benchmarks registry_build tiles  # only some
    python -m benchmarks --list
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._report import Run, parse, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HISTORY = "docs/benchmark-history.md"

#: Benchmarks in the order of the data flow; missing modules are skipped with a note.
ORDER = [
    "coords",
    "registry_build",
    "parse_naacl",
    "resolve",
    "resolve_sample",
    "partition",
    "partition_city",
    "grid_versions",
    "layers_ingest",
    "lifecycle",
    "fusion_pip",
    "tiles",
    "tiles_http",
    "api_load",
    "api_grids",
    "fusion_city",
]

#: Arguments of each benchmark in a full ``make bench`` (the rest keep their own defaults).
#: ``{tmp}`` is a fresh temporary directory of that run. Measured or estimated minutes on the
#: 2-core machine in the comment; ``--scale`` is a fraction of the Shenzhen-size city.
DEFAULTS: dict[str, list[str]] = {
    "coords": [],  # 1M points, < 1 min
    "registry_build": ["--scale", "1"],  # the whole city: ≈ 3 min, 4.4 GiB
    "parse_naacl": [],  # NAACL test set with the cpca/jionlp peers, ≈ 1–2 min
    "resolve": [],  # sample register, 2,000 noisy variants, ≈ 2 min
    "resolve_sample": [],  # ≈ 1 min
    "partition": [],  # 3,000-building community vs spopt, scaling to 30k, ≈ 3 min
    "partition_city": ["--scale", "0.25"],  # 150k buildings: ≈ 3 min (whole city ≈ 12 min)
    "grid_versions": [],  # sample city, ≈ 1 min
    "layers_ingest": ["--scale", "0.25"],  # 4.4M people rows, Parquet and CSV, ≈ 3 min
    "lifecycle": [],  # 50,000 buildings, ≈ 1 min
    "fusion_pip": [],  # 1M and 10M points, GeoPandas, DuckDB, Dask, PostGIS, ≈ 5 min
    "tiles": [],  # scale 1: 610,302 footprints vs PostGIS and DuckDB, ≈ 5 min
    "tiles_http": [],  # sample city, ≈ 1.5 min
    "api_load": [],  # 6 wrk runs of 60 s, ≈ 7 min
    "api_grids": [],  # 4 wrk runs of 20 s, ≈ 2 min
    "fusion_city": ["--scale", "0.1", "--db", "{tmp}/city.duckdb"],  # ≈ 10 min
}

#: The smallest workloads (``--quick``): a check that every benchmark runs, not figures.
QUICK: dict[str, list[str]] = {
    "coords": ["--n", "20000", "--repeat", "1"],
    "registry_build": ["--scale", "0.01"],
    "parse_naacl": [],
    "resolve": ["--n", "200", "--peer-n", "20"],
    "resolve_sample": [],
    "partition": ["--quick", "--no-spopt"],
    "partition_city": ["--scale", "0.01"],
    "grid_versions": ["--points", "200"],
    "layers_ingest": ["--scale", "0.01", "--workdir", "{tmp}"],
    "lifecycle": ["--scale", "0.01", "--ops", "5"],
    "fusion_pip": ["--sizes", "100000", "--grids", "1000"],
    "tiles": ["--scale", "0.01", "--tiles", "10", "10", "10", "--duckdb-tiles", "3"],
    "tiles_http": ["--duration", "1", "--repeat", "1"],
    "api_load": ["--seconds", "2", "--workers", "1"],
    "api_grids": ["--seconds", "2"],
    "fusion_city": ["--scale", "0.01", "--db", "{tmp}/city.duckdb"],
}


def machine() -> str:
    """One line describing this machine."""
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover
        mem = "? GiB"
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def commit() -> str:
    """The checked-out commit, ``+ local changes`` when the tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} + local changes" if dirty else head


def available() -> list[str]:
    """Benchmarks present in this checkout, in data-flow order."""
    present = {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_")}
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def has_scale(name: str) -> bool:
    """Whether ``benchmarks/<name>.py`` takes a ``--scale`` option."""
    path = HERE / f"{name}.py"
    return path.exists() and '"--scale"' in path.read_text(encoding="utf-8")


def arguments(name: str, *, scale: float | None = None, quick: bool = False) -> list[str]:
    """The arguments ``name`` runs with: :data:`QUICK` or :data:`DEFAULTS`, ``--scale`` replaced
    by ``scale`` (added when the benchmark takes it)."""
    args = list((QUICK if quick else DEFAULTS).get(name, []))
    if scale is None or not has_scale(name):
        return args
    if "--scale" in args:
        args[args.index("--scale") + 1] = f"{scale:g}"
    else:
        args += ["--scale", f"{scale:g}"]
    return args


def command(name: str, extra: Sequence[str]) -> list[str]:
    """The command that runs benchmark ``name`` with ``extra`` arguments."""
    return [sys.executable, "-m", f"benchmarks.{name}", *extra]


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without it
        return None


def run_one(name: str, command: Sequence[str], timeout: float, *, echo: bool = True) -> Run:
    """Run one benchmark command in its own process group; its stderr is echoed (progress) and
    its tail kept; on timeout the whole group (servers, PostgreSQL, workers) is killed."""
    run = Run(name=name, command=list(command), load_before=_loadavg())
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    tail: list[str] = []
    chunks: list[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line)
            del tail[:-200]
            if echo:
                print(f"  [{name}] {line}", end="", file=sys.stderr, flush=True)

    def pump_out() -> None:
        assert proc.stdout is not None
        chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=f, daemon=True) for f in (pump_err, pump_out)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        run.status = "timeout"
    for reader in readers:
        reader.join(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    out = "".join(chunks)
    run.seconds = time.perf_counter() - start
    run.load_after = _loadavg()
    run.exit_code = proc.returncode
    run.output = out or ""
    run.error = "".join(tail).strip()
    if run.status == "timeout":
        return run
    try:
        run.result = parse(run.output)
    except ValueError as exc:
        run.error = f"{exc}\n{run.error}".strip()
        run.result = None
    if proc.returncode:
        run.status = "failed"
    elif run.result is None:
        run.status = "no result"
    else:
        run.status = "skipped" if run.result.get("status") == "skipped" else "ok"
    return run


def write_report(
    runs: Sequence[Run],
    out: Path,
    *,
    started: dt.datetime,
    wall: float,
    argv: Sequence[str],
    json_out: Path | None = None,
    quick: bool = False,
) -> None:
    """Write ``out`` (Markdown) and, when given, ``json_out`` (the runs and their result lines)."""
    header = {
        "date": f"{started:%Y-%m-%d %H:%M} UTC (start), total wall time {wall / 60:.1f} min",
        "machine": machine(),
        "commit": commit(),
        "command": "`python -m benchmarks" + "".join(f" {shlex.quote(a)}" for a in argv) + "`",
    }
    if quick:
        header["mode"] = (
            "**--quick**: the smallest workloads, a check that every benchmark runs; "
            "the figures are not comparable with the goals"
        )
    out.write_text(render(runs, header, HISTORY), encoding="utf-8")
    if json_out is None:
        return
    doc = {
        "header": header,
        "runs": [
            {
                "name": r.name,
                "command": r.command,
                "status": r.status,
                "seconds": round(r.seconds, 1),
                "exit_code": r.exit_code,
                "load_before": r.load_before,
                "load_after": r.load_after,
                "result": r.result,
            }
            for r in runs
        ],
    }
    json_out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write the report; exit 1 when one failed or timed out."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.split("\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the runs as JSON")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per benchmark")
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="fraction of the city for every benchmark with --scale (default: per benchmark)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smallest workloads (checks the plumbing)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    if args.list:
        for name in available():
            print(f"{name} {' '.join(arguments(name, scale=args.scale, quick=args.quick))}")
        return 0
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; see --list")
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    runs: list[Run] = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"yizhi-bench-{name}-") as tmp:
            typed = arguments(name, scale=args.scale, quick=args.quick)
            extra = [a.replace("{tmp}", tmp) for a in typed]
            if args.dry_run:
                print(" ".join(command(name, extra)))
                continue
            print(f"== {name}: {' '.join(extra)}", file=sys.stderr, flush=True)
            run = run_one(name, command(name, extra), args.timeout)
            # the command as typed, without this run's temporary directory
            run.command = ["python", "-m", f"benchmarks.{name}", *typed]
            runs.append(run)
            print(f"== {name}: {run.status} in {run.seconds:.0f} s", file=sys.stderr, flush=True)
    if args.dry_run:
        return 0
    write_report(
        runs,
        args.out,
        started=started,
        wall=time.perf_counter() - t0,
        argv=raw,
        json_out=args.json,
        quick=args.quick,
    )
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if any(r.status in ("failed", "timeout", "no result") for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
