"""The benchmark result contract (``BENCH-RESULT`` lines) and the runner that writes
BENCHMARKS.md from them (``benchmarks/_report.py``, ``benchmarks/__main__.py``)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as runner
from benchmarks._report import (
    PREFIX,
    Run,
    goal,
    line,
    parse,
    peer,
    render,
    result,
    section_body,
    strip,
    summary_table,
)


def _doc(**goals_met: bool | None) -> dict[str, object]:
    goals = []
    for name, met in goals_met.items():
        value = {True: 1.0, False: 3.0, None: None}[met]
        goals.append(goal(name, f"measured {name}", value, 2.0, "s"))
    return result("bench", 0.1, goals, {"peer A": peer(4.5, "peer time ÷ yizhi time")})


# -- goal and peer ---------------------------------------------------------------------------------


def test_goal_lower_and_higher_is_better() -> None:
    fast = goal("t ≤ 300 s", "92 s", 92.0, 300.0, "s")
    assert fast["met"] is True and fast["ratio"] == pytest.approx(92 / 300)
    assert goal("t ≤ 300 s", "400 s", 400.0, 300.0, "s")["met"] is False
    assert goal("F1 ≥ 0.9", "0.95", 0.95, 0.9, "F1", better="higher")["met"] is True
    assert goal("F1 ≥ 0.9", "0.85", 0.85, 0.9, "F1", better="higher")["met"] is False
    # the boundary meets the goal either way
    assert goal("x", "", 2.0, 2.0, "")["met"] is True
    assert goal("x", "", 2.0, 2.0, "", better="higher")["met"] is True


def test_goal_without_a_value_is_not_judged() -> None:
    for value in (None, math.nan):
        g = goal("p50 ≤ PostGIS", "PostGIS skipped", value, 1.0, "×")
        assert g["met"] is None and g["ratio"] is None and g["value"] is None


def test_goal_of_zero_has_no_ratio_but_is_judged() -> None:
    assert goal("0 errors", "0", 0, 0, "errors")["met"] is True
    three = goal("0 errors", "3", 3, 0, "errors")
    assert three["met"] is False and three["ratio"] is None


def test_goal_rejects_an_unknown_direction() -> None:
    with pytest.raises(ValueError, match="'sideways'"):
        goal("x", "", 1.0, 1.0, "", better="sideways")  # type: ignore[arg-type]


# -- the line ---------------------------------------------------------------------------------------


def test_line_round_trips_through_parse() -> None:
    doc = _doc(a=True, b=False)
    text = "## Some benchmark\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n" + line(doc) + "\n"
    assert parse(text) == doc
    assert PREFIX not in strip(text) and strip(text).startswith("## Some benchmark")


def test_parse_takes_the_last_line_and_fills_defaults() -> None:
    first = line({"name": "x", "scale": 1, "goals": [], "peers": {}})
    last = PREFIX + json.dumps({"name": "y", "scale": "sample city", "goals": [], "peers": {}})
    doc = parse(f"{first}\nsome text\n{last}")
    assert doc == {
        "name": "y",
        "scale": "sample city",
        "goals": [],
        "peers": {},
        "status": "ok",
        "note": "",
    }


def test_parse_without_a_line_is_none() -> None:
    assert parse("| a |\n|---|\n| 1 |\nBENCH-RESULTS are below\n") is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"name": "x", "scale": 1, "goals": []}', "lacks \\['peers'\\]"),
        ('{"name": "x", "scale": 1, "goals": {}, "peers": {}}', "must be a list"),
        ('{"name": "x", "scale": 1, "goals": [{"goal": "g"}], "peers": {}}', "goal lacks"),
    ],
)
def test_parse_rejects_a_malformed_line(payload: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(PREFIX + payload)


def test_line_writes_numpy_scalars_and_refuses_nan() -> None:
    np = pytest.importorskip("numpy")
    doc = result("x", np.float64(0.5), [goal("g", "m", np.float64(1.5), 2, "s")])
    assert parse(line(doc))["scale"] == 0.5  # type: ignore[index]
    with pytest.raises(ValueError):
        line({"name": "x", "scale": math.nan, "goals": [], "peers": {}})


# -- tables -----------------------------------------------------------------------------------------


def _runs() -> list[Run]:
    met = Run("fast_one", status="ok", result=_doc(speed=True))
    missed = Run("slow_one", status="ok", result=_doc(speed=False, memory=True))
    failed = Run("broken", status="failed", exit_code=3, error="Traceback: boom")
    skipped_doc = result(
        "needs_wrk", "sample city", status="skipped", note="`wrk` is not installed"
    )
    skipped = Run("needs_wrk", status="skipped", result=skipped_doc)
    timeout = Run("endless", status="timeout", seconds=61.0)
    return [met, missed, failed, skipped, timeout]


def test_summary_table_has_a_row_per_goal_and_per_benchmark_not_run() -> None:
    rows = summary_table(_runs()).splitlines()
    assert rows[0].startswith("| goal | benchmark (scale) | measured | ratio")
    body = rows[2:]
    assert len(body) == 1 + 2 + 1 + 1 + 1
    assert body[0] == (
        "| speed | `fast_one` (scale 0.1 of the city) | measured speed | 0.50 (≤ 1 meets) | met |"
    )
    assert body[1].endswith("| 1.50 (≤ 1 meets) | **not met** |")
    assert body[2].endswith("| met |")
    assert body[3] == "| — | `broken` (—) | — | — | **failed** (exit 3) |"
    assert body[4] == (
        "| — | `needs_wrk` (sample city) | — | — | skipped: `wrk` is not installed |"
    )
    assert body[5].endswith("| **timeout** after 61 s |")


def test_summary_table_says_when_a_benchmark_has_no_goal() -> None:
    run = Run("coords", result=result("coords", "1,000,000 points", [], {}))
    assert "| (no goal of its own) | `coords` (1,000,000 points) | — |" in summary_table([run])
    run.result["peers"] = {"PROJ": peer(1.1, "yizhi ÷ PROJ")}  # type: ignore[index]
    assert "| (no goal of its own) | `coords` (1,000,000 points) | peers below |" in summary_table(
        [run]
    )


def test_a_goal_that_could_not_be_judged_says_so() -> None:
    run = Run("tiles", result=_doc(z14=None))
    assert summary_table([run]).splitlines()[-1].endswith("| — | not judged |")


def test_render_links_the_history_and_shows_peers_and_sections() -> None:
    runs = _runs()
    runs[0].output = "# Title of its own\n\n| a |\n|---|\n| 1 |\n" + line(runs[0].result or {})
    text = render(runs, {"date": "2026-11-23", "machine": "2 cores"}, "docs/benchmark-history.md")
    assert text.startswith("# Benchmarks\n")
    assert "[docs/benchmark-history.md](docs/benchmark-history.md)" in text.split("\n\n")[1]
    assert "- machine: 2 cores" in text
    assert "## Summary against the goals of the issues" in text
    assert "| `fast_one` | peer A | 4.50 | peer time ÷ yizhi time |" in text
    # the benchmark's own heading moves below its section; its result line is not shown
    assert "## fast_one\n" in text and "\n### Title of its own\n" in text
    assert PREFIX not in text
    assert "**failed**\n\n```text\nTraceback: boom\n```" in text


def test_section_body_keeps_plain_text_as_a_code_block() -> None:
    assert section_body("label  P  R\nroad  0.9 0.8") == "```text\nlabel  P  R\nroad  0.9 0.8\n```"
    assert section_body("") == "_(no output)_"
    md = "## a\n```\n# not a heading\n```\n| x |"
    assert section_body(md) == "#### a\n```\n# not a heading\n```\n| x |"


# -- the runner -------------------------------------------------------------------------------------

FAKE = """
import json, sys
kind = sys.argv[1]
print("## fake", kind)
print("| figure | value |\\n|---|---|\\n| x | 1 |")
print("progress on stderr", file=sys.stderr)
goal = {"goal": "x ≤ 2", "measured": "1", "value": 1, "target": 2, "unit": "s", "met": True,
        "ratio": 0.5}
doc = {"name": kind, "scale": 0.5, "goals": [goal], "peers": {}}
if kind == "skip":
    doc["status"], doc["note"] = "skipped", "no wrk"
if kind == "fail":
    raise SystemExit("it broke")
if kind != "silent":
    print("BENCH-RESULT " + json.dumps(doc))
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake_bench.py"
    script.write_text(FAKE, encoding="utf-8")
    names = ["ok", "skip", "fail", "silent"]
    monkeypatch.setattr(runner, "available", lambda: names)
    monkeypatch.setattr(runner, "command", lambda name, extra: [sys.executable, str(script), name])
    return script


def test_run_one_reads_the_result_line(fake: Path) -> None:
    run = runner.run_one("ok", [sys.executable, str(fake), "ok"], 60, echo=False)
    assert run.status == "ok" and run.exit_code == 0
    assert run.result is not None and run.result["goals"][0]["met"] is True
    assert run.error == "progress on stderr"
    assert run.load_before is not None and run.seconds > 0


def test_run_one_statuses(fake: Path) -> None:
    statuses = {
        kind: runner.run_one(kind, [sys.executable, str(fake), kind], 60, echo=False).status
        for kind in ("skip", "fail", "silent")
    }
    assert statuses == {"skip": "skipped", "fail": "failed", "silent": "no result"}


def test_run_one_kills_a_benchmark_that_overruns(tmp_path: Path) -> None:
    script = tmp_path / "sleepy.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    run = runner.run_one("sleepy", [sys.executable, str(script)], 1, echo=False)
    assert run.status == "timeout" and run.seconds < 30
    assert "started" in run.output


def test_main_writes_the_report(fake: Path, tmp_path: Path) -> None:
    out, js = tmp_path / "BENCHMARKS.md", tmp_path / "runs.json"
    code = runner.main(["--out", str(out), "--json", str(js)])
    assert code == 1  # one failed, one without a result line
    text = out.read_text(encoding="utf-8")
    assert "docs/benchmark-history.md" in text.split("\n\n")[1]
    assert "- commit: " in text and "total wall time" in text
    table = text.split("## Summary against the goals of the issues")[1].split("\n\n")[1]
    assert "| x ≤ 2 | `ok` (scale 0.5 of the city) | 1 | 0.50 (≤ 1 meets) | met |" in table
    assert "| — | `skip` (scale 0.5 of the city) | — | — | skipped: no wrk |" in table
    assert "**failed** (exit 1)" in table and "**no result line**" in table
    assert "it broke" in text
    doc = json.loads(js.read_text(encoding="utf-8"))
    assert [r["status"] for r in doc["runs"]] == ["ok", "skipped", "failed", "no result"]


def test_main_only_some_and_unknown(fake: Path, tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    assert runner.main(["ok", "--out", str(out)]) == 0
    assert "## ok\n" in out.read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        runner.main(["nope", "--out", str(out)])


def test_arguments_scale_replaces_or_adds() -> None:
    assert runner.arguments("registry_build") == runner.DEFAULTS["registry_build"]
    assert runner.arguments("registry_build", scale=0.05) == ["--scale", "0.05"]
    assert runner.arguments("lifecycle", scale=0.05)[-2:] == ["--scale", "0.05"]
    # a benchmark without --scale keeps its arguments
    assert runner.arguments("fusion_pip", scale=0.05) == runner.DEFAULTS["fusion_pip"]
    assert runner.arguments("tiles", quick=True)[:2] == ["--scale", "0.01"]


def test_every_benchmark_has_defaults_and_a_quick_run_and_emits_a_result() -> None:
    names = runner.available()
    assert set(names) <= set(runner.DEFAULTS) and set(names) <= set(runner.QUICK)
    for name in names:
        if name == "fusion_city":
            continue  # owned by the lead; see docs/benchmarks.md
        source = (runner.HERE / f"{name}.py").read_text(encoding="utf-8")
        assert "emit(" in source, name
