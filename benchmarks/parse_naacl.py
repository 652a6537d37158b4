"""Address parser on the NAACL 2019 test set, side by side with cpca and jionlp.

Run: ``.venv/bin/python -m benchmarks.parse_naacl [--no-peers]``.

Prints the per-label table (entity-level, exact span on the text as written) and micro-F1 over
the structural labels for the shipped model; addresses/s for normalise and parse (single calls and
``parse_many``); then admin-level extraction (province/city/district, suffix-normalised) for yizhi,
cpca 0.5.5 and jionlp 1.5.31, and jionlp's town/village recall. The peers are not in ``.venv``:
they are installed in a separate venv (``var/peers-venv``) and run in a subprocess; when that
fails the reason is printed and the comparison skipped. Rates are addresses per CPU-second of
the process (``time.process_time``), for yizhi and the peers alike, so that a busy shared
machine does not distort the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from address_registry._parse_data import REPORTED, STRUCTURAL, Example, Score, read_naacl
from address_registry._parse_gazetteer import short_form
from address_registry.normalize import normalize, normalize_mapped
from address_registry.parse import original_entities, parse, parse_many, tag_mapped
from benchmarks._report import emit, goal, peer
from common.settings import ROOT, get_settings

PEERS_VENV = ROOT / "var" / "peers-venv"
PEER_PACKAGES = ["cpca==0.5.5", "setuptools<81", "jionlp==1.5.31"]

_PEER_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
texts = json.load(open(sys.argv[1], encoding="utf-8"))
out = {}
import cpca
t = time.process_time(); df = cpca.transform(texts); batch = time.process_time() - t
t = time.process_time()
for x in texts[:500]: cpca.transform([x])
single = (time.process_time() - t) / min(len(texts), 500)
out["cpca"] = {"rows": [[r["省"], r["市"], r["区"]] for _, r in df.iterrows()],
               "per_s_batch": len(texts) / batch, "per_s_single": 1 / single}
import jionlp
rows = []
t = time.process_time()
for x in texts:
    try:
        r = jionlp.parse_location(x, town_village=True, change2new=False)
        rows.append([r.get("province"), r.get("city"), r.get("county"), r.get("town"), r.get("village")])
    except Exception:
        rows.append([None] * 5)
out["jionlp"] = {"rows": rows, "per_s_single": len(texts) / (time.process_time() - t)}
json.dump(out, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
"""


def _short(name: object, level: str) -> str | None:
    if not isinstance(name, str) or not name or name in ("None", "nan"):
        return None
    return short_form(name, level) or name


def _admin_gold(example: Example) -> dict[str, str]:
    gold: dict[str, str] = {}
    for label, a, b in example.entities:
        gold.setdefault(label, example.text[a:b])
    return gold


def admin_table(
    examples: list[Example], preds: list[list[str | None]]
) -> dict[str, tuple[float, float, float, int]]:
    """Per level P/R/F1 (suffix-normalised) and the count of values filled in but not written.

    A value the peer fills in where the text names no such level is not counted against its
    precision (it may be right) but is counted in the last column.
    """
    out = {}
    for k, (label, level) in enumerate((("prov", "P"), ("city", "C"), ("district", "D"))):
        tp = fp = fn = filled = 0
        for example, pred in zip(examples, preds, strict=True):
            g = _short(_admin_gold(example).get(label), level)
            p = _short(pred[k], level)
            if g is None:
                filled += p is not None
                continue
            if p == g:
                tp += 1
            else:
                fn += 1
                fp += p is not None
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[label] = (prec, rec, f1, filled)
    return out


def _recall(examples: list[Example], values: list[str | None], label: str, level: str) -> float:
    hits = total = 0
    for example, value in zip(examples, values, strict=True):
        gold = _admin_gold(example).get(label)
        if gold is None:
            continue
        total += 1
        g = _short(gold, level) or gold
        hits += bool(value) and (g in str(value) or str(value) in gold)
    return hits / total if total else 0.0


def _peers(texts: list[str]) -> dict[str, dict[str, object]] | None:
    python = PEERS_VENV / "bin" / "python"
    try:
        if not python.exists():
            print(f"creating peer venv {PEERS_VENV} ...", flush=True)
            subprocess.run(["python3", "-m", "venv", str(PEERS_VENV)], check=True)
        probe = subprocess.run([str(python), "-c", "import cpca, jionlp"], capture_output=True)
        if probe.returncode:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES],
                check=True,
                capture_output=True,
                text=True,
            )
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "texts.json"
            script = Path(tmp) / "peers.py"
            data.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            script.write_text(_PEER_SCRIPT, encoding="utf-8")
            answer = Path(tmp) / "answer.json"
            subprocess.run(
                [str(python), str(script), str(data), str(answer)],
                capture_output=True,
                text=True,
                check=True,
            )
            result: dict[str, dict[str, object]] = json.loads(answer.read_text(encoding="utf-8"))
        return result
    except (subprocess.CalledProcessError, OSError, json.JSONDecodeError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        print(f"peers skipped: {exc} {str(detail)[-800:]}")
        return None


def _rate(fn: object, items: list[str], repeat: int = 1) -> float:
    started = time.process_time()
    for _ in range(repeat):
        fn(items)  # type: ignore[operator]
    return repeat * len(items) / (time.process_time() - started)


def main() -> None:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    folder = get_settings().shared_dir / "data" / "address-parsing-naacl2019"
    test = read_naacl(folder / "test.txt")
    texts = [e.text for e in test]
    print(f"NAACL 2019 test set: {len(test)} addresses ({folder})")

    gold, pred = [], []
    for example in test:
        mapped = normalize_mapped(example.text)
        gold.append(example.entities)
        pred.append(original_entities(mapped, tag_mapped(mapped)))
    score = Score.of(gold, pred)
    print(f"\n{'label':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}")
    for label in REPORTED:
        p, r, f, n = score.prf([label])
        print(f"{label:<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:6d}")
    p, r, f, n = score.prf(STRUCTURAL)
    micro_f1 = f
    print(f"{'micro(str)':<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:6d}")

    parse_many(texts[:50])  # warm up (model, gazetteer)
    norm = _rate(lambda xs: [normalize(x) for x in xs], texts, 3)
    single = _rate(lambda xs: [parse(x) for x in xs], texts)
    batch = _rate(parse_many, texts)
    print(
        f"\nnormalize {norm:,.0f}/s; parse {single:,.0f}/s single calls, {batch:,.0f}/s parse_many"
    )

    parsed = parse_many(texts)
    ours = [[x.province, x.city, x.district] for x in parsed]
    tables = {"yizhi": admin_table(test, ours)}
    town = {"yizhi": _recall(test, [x.town for x in parsed], "town", "T")}
    village = {"yizhi": _recall(test, [x.community for x in parsed], "community", "T")}
    speed = {"yizhi": f"{single:,.0f}/s single, {batch:,.0f}/s batch"}
    peers = None if args.no_peers else _peers(texts)
    if peers:
        cp = peers["cpca"]
        tables["cpca 0.5.5"] = admin_table(test, cp["rows"])  # type: ignore[arg-type]
        speed["cpca 0.5.5"] = (
            f"{cp['per_s_single']:,.0f}/s single, {cp['per_s_batch']:,.0f}/s batch"
        )
        jn = peers["jionlp"]
        rows: list[list[str | None]] = jn["rows"]  # type: ignore[assignment]
        tables["jionlp 1.5.31"] = admin_table(test, [r[:3] for r in rows])
        town["jionlp 1.5.31"] = _recall(test, [r[3] for r in rows], "town", "T")
        village["jionlp 1.5.31"] = _recall(test, [r[4] for r in rows], "community", "T")
        speed["jionlp 1.5.31"] = f"{jn['per_s_single']:,.0f}/s single"
    print("\nadmin extraction (suffix-normalised; 'filled' = value given where none is written)")
    print(
        f"{'engine':<14} {'prov F1':>8} {'city F1':>8} {'dist F1':>8} {'filled':>7} {'town R':>7} {'comm R':>7}  speed"
    )
    for name, table in tables.items():
        filled = sum(v[3] for v in table.values())
        t = f"{town[name]:7.3f}" if name in town else f"{'-':>7}"
        v = f"{village[name]:7.3f}" if name in village else f"{'-':>7}"
        print(
            f"{name:<14} {table['prov'][2]:8.3f} {table['city'][2]:8.3f} {table['district'][2]:8.3f}"
            f" {filled:7d} {t} {v}  {speed[name]}"
        )
    # District given although the text names no province, city or district (addresses starting
    # at the street/town or below): such a district was read out of a road or estate name.
    invented: dict[str, int] = {}
    engines = {"yizhi": ours}
    if peers:
        engines["cpca 0.5.5"] = peers["cpca"]["rows"]  # type: ignore[assignment]
        engines["jionlp 1.5.31"] = peers["jionlp"]["rows"]  # type: ignore[assignment]
    bare = [
        not {"prov", "city", "district"} & {label for label, _a, _b in e.entities} for e in test
    ]
    for name, rows_ in engines.items():
        invented[name] = sum(
            1 for is_bare, row in zip(bare, rows_, strict=True) if is_bare and _short(row[2], "D")
        )
    print(
        f"\naddresses naming no province/city/district: {sum(bare)}; "
        f"a district given anyway: {invented}"
    )
    peer_ratios = {}
    for name in ("cpca 0.5.5", "jionlp 1.5.31"):
        if name not in tables:
            why = "--no-peers" if args.no_peers else "the peer venv failed (see the output)"
            peer_ratios[name] = peer(None, f"skipped: {why}")
            continue
        theirs = tables[name]["district"][2]
        peer_ratios[f"{name}, district F1"] = peer(
            tables["yizhi"]["district"][2] / theirs if theirs else None,
            f"yizhi district F1 ÷ peer's ({tables['yizhi']['district'][2]:.3f} vs {theirs:.3f})",
        )
        per_s: Any = (peers or {})["cpca" if name.startswith("cpca") else "jionlp"]["per_s_single"]
        rate = float(per_s)
        peer_ratios[f"{name}, one call per address"] = peer(
            single / rate,
            f"yizhi parse/s ÷ peer's, single calls, per CPU second ({single:,.0f} vs {rate:,.0f})",
        )
        peer_ratios[f"{name}, districts invented for addresses naming none"] = peer(
            invented[name] / max(1, invented["yizhi"]),
            f"peer's count ÷ yizhi's ({invented[name]} vs {invented['yizhi']})",
        )
    emit(
        "parse_naacl",
        f"NAACL 2019 test set, {len(test):,} addresses",
        [
            goal(
                "parser micro-F1 ≥ 0.90 on the NAACL test set (structural labels)",
                f"{micro_f1:.3f} (P {p:.3f}, R {r:.3f}, {n:,} entities)",
                micro_f1,
                0.90,
                "F1",
                better="higher",
            )
        ],
        peer_ratios,
    )


if __name__ == "__main__":
    main()
