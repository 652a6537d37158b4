"""Calibration of resolver scores: an isotonic map from a raw score to P(correct).

Fitted with :func:`fit` (pool adjacent violators on the raw scores of generated variants of one
seed, see ``benchmarks/resolve.py --calibrate``) and shipped as a small JSON table
(:data:`CALIBRATION_PATH`: ``{"x": [...], "y": [...], "seed": n, "n": n}``); applied by linear
interpolation, so the map is monotone and stays in [0, 1].
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

CALIBRATION_PATH = Path(__file__).resolve().parent / "models" / "resolve_calibration.json"


def fit(scores: list[float], correct: list[bool], bins: int = 40) -> dict[str, list[float]]:
    """Isotonic (non-decreasing) fit of ``correct`` on ``scores``, as an interpolation table.

    >>> t = fit([0.1, 0.2, 0.8, 0.9], [False, True, False, True])
    >>> all(a <= b for a, b in zip(t["y"], t["y"][1:]))
    True
    """
    x = np.asarray(scores, dtype=float)
    y = np.asarray(correct, dtype=float)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    # pool adjacent violators on blocks of (sum, count, x-mean)
    sums: list[float] = []
    counts: list[float] = []
    xs: list[float] = []
    for xi, yi in zip(x, y, strict=True):
        sums.append(float(yi))
        counts.append(1.0)
        xs.append(float(xi))
        while len(sums) > 1 and sums[-2] / counts[-2] >= sums[-1] / counts[-1]:
            s, c, xv = sums.pop(), counts.pop(), xs.pop()
            xs[-1] = (xs[-1] * counts[-1] + xv * c) / (counts[-1] + c)
            sums[-1] += s
            counts[-1] += c
    bx = np.asarray(xs)
    by = np.asarray(sums) / np.asarray(counts)
    if len(bx) > bins:  # thin the table: keep it small
        keep = np.unique(np.linspace(0, len(bx) - 1, bins).round().astype(int))
        bx, by = bx[keep], by[keep]
    return {"x": [round(float(v), 4) for v in bx], "y": [round(float(v), 4) for v in by]}


@lru_cache(maxsize=4)
def load(path: Path = CALIBRATION_PATH) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The shipped table (identity when the file is missing)."""
    if not path.is_file():
        return (0.0, 1.0), (0.0, 1.0)
    doc = json.loads(path.read_text(encoding="utf-8"))
    return tuple(doc["x"]), tuple(doc["y"])


def calibrate(
    score: float, table: tuple[tuple[float, ...], tuple[float, ...]] | None = None
) -> float:
    """Calibrated confidence of a raw score, in [0, 1].

    >>> calibrate(0.5, ((0.0, 1.0), (0.0, 1.0)))
    0.5
    """
    xs, ys = table if table is not None else load()
    value = float(np.interp(score, xs, ys))
    return min(1.0, max(0.0, round(value, 3)))
