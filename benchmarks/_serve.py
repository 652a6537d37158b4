"""A yizhi server in its own processes and a wrk load against it (the HTTP benchmarks)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
%(headers)s
request = function()
  i = (i %% #paths) + 1
  return wrk.format("GET", paths[i])
end
%(delay)s
done = function(summary, latency, requests)
  local s = summary.errors
  io.write(string.format(
    '{"requests": %%d, "seconds": %%f, "p50_ms": %%f, "p90_ms": %%f, "p99_ms": %%f, "max_ms": %%f, '
    .. '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, s.connect, s.read, s.write, s.status, s.timeout))
end
"""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db: Path, work: Path, *, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """``yizhi serve`` on ``db`` (keys and audit log in ``work``, rate limits off); returns the
    process and its URL once ``/health`` answers."""
    port = free_port()
    env = dict(
        os.environ,
        YIZHI_API_KEYS=str(work / "keys.json"),
        YIZHI_AUDIT_LOG=str(work / "audit.jsonl"),
        YIZHI_RATE_LIMIT="1000000",
        YIZHI_RATE_BURST="1000000",
    )
    cmd = [sys.executable, "-m", "yizhi.cli", "serve", "--db", str(db), "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited at start")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start in 120 s")


def warm(url: str, paths: list[str], n: int = 20) -> None:
    """Request the first ``n`` paths once (indexes and caches warm before timing)."""
    for path in paths[:n]:
        with urllib.request.urlopen(url + path, timeout=120) as resp:
            resp.read()


def wrk(
    url: str,
    paths: list[str],
    *,
    seconds: int,
    connections: int,
    work: Path,
    think_ms: float = 0.0,
    threads: int = 1,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run wrk over ``paths``; returns its summary (latency percentiles in ms, ``rps``,
    ``errors``).

    ``think_ms`` > 0 makes each connection wait that long after an answer before its next
    request (a client that does something with the answer); 0 is back-to-back saturation.
    """
    listing = work / f"paths-{len(paths)}.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = work / "load.lua"
    delay = f"delay = function() return {think_ms:g} end" if think_ms > 0 else ""
    header_lines = "\n".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items()
    )
    script.write_text(
        _LUA % {"paths": listing, "delay": delay, "headers": header_lines}, encoding="utf-8"
    )
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*cmd, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    doc: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    doc["rps"] = doc["requests"] / doc["seconds"]
    doc["errors"] = sum(doc[k] for k in ("connect", "read", "write", "status", "timeout"))
    return doc
