"""The result contract of the benchmarks and the Markdown that ``make bench`` writes from it.

Every ``benchmarks/<name>.py`` prints its own Markdown and ends with **one** line::

    BENCH-RESULT {"name": ..., "scale": ..., "status": ..., "goals": [...], "peers": {...}}

built by :func:`emit`. The runner (``python -m benchmarks``) reads that line from each
benchmark's output (:func:`parse`), removes it from the section (:func:`strip`) and builds the
summary tables of ``BENCHMARKS.md`` from every benchmark's line (:func:`summary_table`,
:func:`peers_table`).

Fields of the line:

- ``name``: the module (``registry_build``);
- ``scale``: the fraction of the Shenzhen-size city that was measured (a number; 1 is the whole
  city) or a description of a fixed workload (``"NAACL 2019 test set, 2,985 addresses"``);
- ``status``: ``"ok"`` or ``"skipped"`` (with ``note`` saying why, e.g. wrk missing);
- ``goals``: one :func:`goal` per goal of an issue the benchmark measures: the goal in words,
  what was measured in words, ``value`` and ``target`` in ``unit``, ``better`` (``"lower"``:
  met when value ≤ target, a time or a memory; ``"higher"``: met when value ≥ target, a rate
  or a score), ``ratio`` = value ÷ target, ``met`` (``null`` when it could not be judged);
- ``peers``: peer name → :func:`peer`: ``ratio`` (a number, or ``null`` when the peer was
  skipped) and ``what`` the ratio means (``"GeoPandas time ÷ yizhi time at 10M points"``);
- ``note``: free text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

PREFIX = "BENCH-RESULT "
REQUIRED = ("name", "scale", "goals", "peers")
GOAL_KEYS = ("goal", "measured", "value", "target", "unit", "met")


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def goal(
    goal: str,
    measured: str,
    value: float | None,
    target: float,
    unit: str,
    *,
    better: Literal["lower", "higher"] = "lower",
) -> dict[str, Any]:
    """One goal of an issue and what was measured against it.

    Parameters
    ----------
    goal : str
        The goal in words (``"registry build of the whole city ≤ 5 min"``).
    measured : str
        What was measured, in words (``"92 s at scale 1"``).
    value, target : float
        The figure and the goal in ``unit``; ``value`` ``None`` (or NaN) when it could not be
        measured (a skipped peer the goal is relative to): ``met`` is then ``None``.
    unit : str
        Unit of ``value`` and ``target`` (``"s"``, ``"GiB"``, ``"×"``).
    better : {"lower", "higher"}
        ``"lower"``: met when value ≤ target; ``"higher"``: met when value ≥ target.

    Returns
    -------
    dict
        The goal entry of the result line, with ``ratio`` = value ÷ target (``None`` when the
        target is 0) and ``met``.

    Examples
    --------
    >>> g = goal("build ≤ 5 min", "92 s", 92.0, 300.0, "s")
    >>> g["met"], round(g["ratio"], 2)
    (True, 0.31)
    >>> goal("F1 ≥ 0.90", "0.85", 0.85, 0.9, "", better="higher")["met"]
    False
    >>> goal("errors = 0", "0 errors", 0, 0, "errors")["met"]
    True
    """
    v, t = _number(value), _number(target)
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")
    met = None if v is None or t is None else (v <= t if better == "lower" else v >= t)
    ratio = None if v is None or not t else v / t
    return {
        "goal": goal,
        "measured": measured,
        "value": v,
        "target": t,
        "unit": unit,
        "better": better,
        "ratio": ratio,
        "met": met,
    }


def peer(ratio: float | None, what: str) -> dict[str, Any]:
    """One peer comparison: ``ratio`` (``None`` when the peer was not measured) and its meaning.

    >>> peer(4.6, "PostGIS time ÷ yizhi time")
    {'ratio': 4.6, 'what': 'PostGIS time ÷ yizhi time'}
    >>> peer(None, "skipped: PostgreSQL is not installed")["ratio"] is None
    True
    """
    return {"ratio": _number(ratio), "what": what}


def result(
    name: str,
    scale: float | str,
    goals: Sequence[Mapping[str, Any]] = (),
    peers: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    status: Literal["ok", "skipped"] = "ok",
    note: str = "",
) -> dict[str, Any]:
    """The result document of one benchmark (see the module docstring)."""
    return {
        "name": name,
        "scale": scale,
        "status": status,
        "goals": [dict(g) for g in goals],
        "peers": {k: dict(v) for k, v in (peers or {}).items()},
        "note": note,
    }


def line(doc: Mapping[str, Any]) -> str:
    """The ``BENCH-RESULT`` line of a result document (one line of JSON, NaN as null)."""
    return PREFIX + json.dumps(doc, ensure_ascii=False, allow_nan=False, default=_json_default)


def _json_default(obj: object) -> object:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} in a BENCH-RESULT line: {obj!r}")


def emit(
    name: str,
    scale: float | str,
    goals: Sequence[Mapping[str, Any]] = (),
    peers: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    status: Literal["ok", "skipped"] = "ok",
    note: str = "",
) -> None:
    """Print the ``BENCH-RESULT`` line (the last thing a benchmark prints on stdout)."""
    print("\n" + line(result(name, scale, goals, peers, status=status, note=note)), flush=True)


def parse(text: str) -> dict[str, Any] | None:
    """The last ``BENCH-RESULT`` document in ``text``; ``None`` when there is none.

    Raises
    ------
    ValueError
        The line is not JSON, or lacks a required key (``name``, ``scale``, ``goals``,
        ``peers``; each goal: ``goal``, ``measured``, ``value``, ``target``, ``unit``, ``met``).
    """
    found = [ln for ln in text.splitlines() if ln.startswith(PREFIX)]
    if not found:
        return None
    raw = found[-1][len(PREFIX) :]
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"BENCH-RESULT line is not JSON ({exc}): {raw[:200]!r}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"BENCH-RESULT line is not an object: {raw[:200]!r}")
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise ValueError(f"BENCH-RESULT line lacks {missing}: {raw[:200]!r}")
    if not isinstance(doc["goals"], list) or not isinstance(doc["peers"], dict):
        raise ValueError(f"BENCH-RESULT goals must be a list and peers an object: {raw[:200]!r}")
    for g in doc["goals"]:
        lacking = [k for k in GOAL_KEYS if not isinstance(g, dict) or k not in g]
        if lacking:
            raise ValueError(f"BENCH-RESULT goal lacks {lacking}: {g!r}")
    doc.setdefault("status", "ok")
    doc.setdefault("note", "")
    return doc


def strip(text: str) -> str:
    """``text`` without its ``BENCH-RESULT`` lines."""
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(PREFIX)).strip()


# -- what the runner writes ------------------------------------------------------------------------


@dataclass
class Run:
    """One benchmark as the runner ran it.

    ``status``: ``ok``, ``skipped`` (the benchmark said so), ``failed`` (non-zero exit),
    ``timeout``, or ``no result`` (exit 0 without a valid ``BENCH-RESULT`` line).
    """

    name: str
    command: list[str] = field(default_factory=list)
    status: str = "ok"
    seconds: float = 0.0
    exit_code: int | None = 0
    load_before: float | None = None
    load_after: float | None = None
    output: str = ""
    error: str = ""
    result: dict[str, Any] | None = None


def scale_text(scale: object) -> str:
    """``scale 0.25 of the city`` for a fraction of the city, the description otherwise."""
    if isinstance(scale, int | float) and not isinstance(scale, bool):
        return "the whole city, scale 1" if scale == 1 else f"scale {scale:g} of the city"
    return str(scale) if scale not in (None, "") else "—"


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or 0.01 <= abs(value) < 1000:
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _met(g: Mapping[str, Any]) -> str:
    if g.get("met") is True:
        return "met"
    if g.get("met") is False:
        return "**not met**"
    return "not judged"


def _not_run(run: Run) -> str:
    if run.status == "failed":
        return f"**failed** (exit {run.exit_code})"
    if run.status == "timeout":
        return f"**timeout** after {run.seconds:.0f} s"
    if run.status == "no result":
        return "**no result line**"
    note = (run.result or {}).get("note") or run.error
    return f"skipped: {note}" if note else "skipped"


def summary_table(runs: Iterable[Run]) -> str:
    """The table of every goal against what was measured, one row per goal.

    A benchmark that failed, timed out or was skipped gets one row saying so; one without a
    goal of its own (peers only) one row saying that.
    """
    out = [
        "| goal | benchmark (scale) | measured | ratio (measured ÷ goal) | met |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        doc = run.result or {}
        where = f"`{run.name}` ({_cell(scale_text(doc.get('scale', '')))})"
        if run.status != "ok":
            out.append(f"| — | {where} | — | — | {_cell(_not_run(run))} |")
            continue
        goals = doc.get("goals") or []
        if not goals:
            what = "peers below" if doc.get("peers") else _cell(doc.get("note") or "—")
            out.append(f"| (no goal of its own) | {where} | {what} | — | — |")
        for g in goals:
            sign = "≤" if g.get("better", "lower") == "lower" else "≥"
            ratio = _fmt(g.get("ratio"))
            ratio = f"{ratio} ({sign} 1 meets)" if g.get("ratio") is not None else "—"
            out.append(
                f"| {_cell(g['goal'])} | {where} | {_cell(g['measured'])} | {ratio} | {_met(g)} |"
            )
    return "\n".join(out)


def peers_table(runs: Iterable[Run]) -> str:
    """The peers measured side by side in the same runs: one row per peer comparison."""
    out = ["| benchmark | peer | ratio | meaning |", "|---|---|---|---|"]
    rows = 0
    for run in runs:
        if run.status != "ok" or not run.result:
            continue
        for name, p in run.result.get("peers", {}).items():
            ratio = p.get("ratio") if isinstance(p, dict) else p
            what = p.get("what", "") if isinstance(p, dict) else ""
            value = _fmt(ratio) if isinstance(ratio, int | float) else "not measured"
            out.append(f"| `{run.name}` | {_cell(name)} | {value} | {_cell(what)} |")
            rows += 1
    return "\n".join(out) if rows else "_No peer was measured._"


_HEADING = re.compile(r"^(#{1,4}) ")


def section_body(text: str) -> str:
    """A benchmark's output as a Markdown section body: headings moved below the section's own
    level-2 heading; output with no Markdown table or heading kept as a code block."""
    lines = text.splitlines()
    if not any(ln.startswith(("|", "#")) for ln in lines):
        return f"```text\n{text}\n```" if text.strip() else "_(no output)_"
    out, fence = [], False
    for ln in lines:
        if ln.startswith("```"):
            fence = not fence
        m = None if fence else _HEADING.match(ln)
        out.append("#" * min(6, len(m.group(1)) + 2) + ln[len(m.group(1)) :] if m else ln)
    return "\n".join(out)


def _load(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def section(run: Run) -> str:
    """The Markdown section of one benchmark: heading, scale, command, wall time, load, output."""
    doc = run.result or {}
    head = [
        f"## {run.name}",
        "",
        f"- scale: {scale_text(doc.get('scale', '—'))}",
        f"- command: `{' '.join(run.command)}`",
        f"- {run.seconds:.0f} s wall; load average (1 min) {_load(run.load_before)} before, "
        f"{_load(run.load_after)} after; status: {run.status}",
    ]
    if doc.get("note"):
        head.append(f"- note: {doc['note']}")
    body = section_body(strip(run.output))
    if run.status in ("failed", "timeout", "no result") and run.error:
        body += f"\n\n**{run.status}**\n\n```text\n{run.error[-3000:]}\n```"
    return "\n".join(head) + "\n\n" + body + "\n"


def render(runs: Sequence[Run], header: Mapping[str, str], history: str) -> str:
    """The whole ``BENCHMARKS.md``: header, summary against the goals, peers, sections."""
    lines = ["# Benchmarks", ""]
    lines.append(
        f"_Generated by `make bench` (`python -m benchmarks`). The hand-curated results of earlier "
        f"separate runs are in [{history}]({history})._"
    )
    lines.append("")
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines += [
        "",
        "Every figure is one run on a machine that may be shared: absolute times move with the "
        "load average (given per benchmark); ratios between yizhi and a peer measured in the "
        "same run compare.",
        "",
        "## Summary against the goals of the issues",
        "",
        summary_table(runs),
        "",
        "A time or a memory meets its goal at a ratio ≤ 1, a rate or a score at ≥ 1. Goals of "
        "the whole city measured on a fraction of it are projected linearly (each row says so).",
        "",
        "## Peers, side by side in the same run",
        "",
        peers_table(runs),
        "",
    ]
    lines += [section(run) for run in runs]
    return "\n".join(lines)
