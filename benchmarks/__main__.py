"""Run every benchmark and write ``BENCHMARKS.md`` (``make bench``; not part of ``make test``).

Each ``benchmarks/<name>.py`` is a program that prints its figures and peer ratios as Markdown.
This runner executes them one after another in fresh processes (so peak memory is per benchmark),
captures what they print, and writes the report with the machine and the date.

Usage::

    python -m benchmarks                  # all, at each benchmark's default scale
    python -m benchmarks registry_build   # only some
    python -m benchmarks --list
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: Benchmarks in the order of the data flow; missing modules are skipped with a note.
ORDER = [
    "coords",
    "registry_build",
    "parse_naacl",
    "resolve",
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


def machine() -> str:
    """One line describing this machine."""
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover
        mem = "? GiB"
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), {mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def available() -> list[str]:
    """Benchmarks present in this checkout, in data-flow order."""
    present = {p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_")}
    return [n for n in ORDER if n in present] + sorted(present - set(ORDER))


def run(name: str, timeout: int) -> tuple[str, float, int]:
    """Run one benchmark module; return its Markdown output, wall time and exit code."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    out = proc.stdout.strip()
    if proc.returncode:
        out += f"\n\n**failed (exit {proc.returncode})**\n\n```\n{proc.stderr.strip()[-3000:]}\n```"
    return out, time.perf_counter() - start, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per benchmark")
    args = parser.parse_args(argv)
    names = args.names or available()
    if args.list:
        print("\n".join(available()))
        return 0
    sections = []
    failed = 0
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        out, seconds, code = run(name, args.timeout)
        failed += bool(code)
        sections.append(f"## {name}\n\n_{seconds:.0f} s wall_\n\n{out}\n")
    header = (
        "# Benchmarks\n\n"
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
        f"- machine: {machine()}\n"
        "- command: `make bench` (`python -m benchmarks`); every figure is one run, so only "
        "ratios from the same run compare (the machine is shared: ±10%).\n\n"
    )
    args.out.write_text(header + "\n".join(sections), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
