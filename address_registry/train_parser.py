"""Train the address parser's CRF on the NAACL 2019 labelled addresses.

Usage::

    .venv/bin/python -m address_registry.train_parser \\
        --data ../shared/data/address-parsing-naacl2019 --out address_registry/models/parser.crfsuite

Trains on ``train.txt``, reports on ``dev.txt`` (and ``test.txt`` with ``--test``). Each address
is normalised exactly as at predict time and its gold labels are carried through the offset map
(:func:`address_registry._parse_data.token_tags`). The data has no stated licence: only the
trained model is shipped, never the data.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from address_registry._parse_data import (
    REPORTED,
    STRUCTURAL,
    Example,
    Score,
    read_naacl,
    token_tags,
)
from address_registry._parse_features import features
from address_registry.normalize import normalize_mapped
from address_registry.parse import original_entities, tag_mapped


def train(
    examples: Sequence[Example],
    out: Path,
    *,
    c1: float = 0.05,
    c2: float = 0.01,
    max_iterations: int = 200,
    min_freq: int = 1,
) -> None:
    """Fit a CRF on ``examples`` and write it to ``out``."""
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for example in examples:
        mapped = normalize_mapped(example.text)
        spans, tags = token_tags(example, mapped)
        if spans:
            trainer.append(features(mapped.text, spans), tags)
    trainer.set_params(
        {
            "c1": c1,
            "c2": c2,
            "max_iterations": max_iterations,
            "feature.minfreq": min_freq,
            "feature.possible_transitions": True,
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(out))


def evaluate(examples: Sequence[Example], model: Path) -> Score:
    """Entity-level score of ``model`` on ``examples`` (spans of the text as written)."""
    gold = []
    pred = []
    for example in examples:
        mapped = normalize_mapped(example.text)
        gold.append(example.entities)
        pred.append(original_entities(mapped, tag_mapped(mapped, model)))
    return Score.of(gold, pred)


def report(score: Score) -> str:
    """Per-label table and micro-F1 over the structural labels."""
    lines = [f"{'label':<10} {'P':>6} {'R':>6} {'F1':>6} {'n':>6}"]
    for label in REPORTED:
        p, r, f, n = score.prf([label])
        lines.append(f"{label:<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:6d}")
    p, r, f, n = score.prf(STRUCTURAL)
    lines.append(f"{'micro(str)':<10} {p:6.3f} {r:6.3f} {f:6.3f} {n:6d}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with train/dev/test.txt")
    ap.add_argument("--out", type=Path, required=True, help="model file to write")
    ap.add_argument("--c1", type=float, default=0.05)
    ap.add_argument("--c2", type=float, default=0.01)
    ap.add_argument("--max-iterations", type=int, default=200)
    ap.add_argument("--min-freq", type=int, default=1)
    ap.add_argument("--with-dev", action="store_true", help="also train on dev (final model)")
    ap.add_argument("--test", action="store_true", help="also report on test.txt")
    args = ap.parse_args(argv)
    examples = read_naacl(args.data / "train.txt")
    dev = read_naacl(args.data / "dev.txt")
    started = time.perf_counter()
    train(
        [*examples, *dev] if args.with_dev else examples,
        args.out,
        c1=args.c1,
        c2=args.c2,
        max_iterations=args.max_iterations,
        min_freq=args.min_freq,
    )
    size = args.out.stat().st_size
    print(f"trained in {time.perf_counter() - started:.1f} s, model {size / 1e6:.2f} MB")
    print("dev:\n" + report(evaluate(dev, args.out)))
    if args.test:
        print("test:\n" + report(evaluate(read_naacl(args.data / "test.txt"), args.out)))


if __name__ == "__main__":
    main()
