"""The NAACL 2019 labelled addresses: reading, aligning to normalised tokens, scoring.

The files (``train.txt``, ``dev.txt``, ``test.txt``) hold one token and its BIO tag per line and a
blank line between addresses. Label case is inconsistent in the data (``subRoad``, ``devZone``):
labels are lower-cased. Gold entities are kept as ``(label, start, end)`` character offsets of
the original text, so that evaluation compares spans of the text as written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from address_registry._parse_edits import Mapped
from address_registry._parse_features import tokenize

#: Labels scored as "structural" (micro-F1 goal ≥ 0.90).
STRUCTURAL = (
    "prov",
    "city",
    "district",
    "town",
    "community",
    "road",
    "roadno",
    "houseno",
    "cellno",
    "floorno",
    "roomno",
)
#: Labels reported besides the structural ones.
REPORTED = (*STRUCTURAL, "poi", "subpoi")

Entity = tuple[str, int, int]


@dataclass(frozen=True)
class Example:
    """One labelled address: its text and gold entities in original offsets."""

    text: str
    entities: tuple[Entity, ...]


def read_naacl(path: Path) -> list[Example]:
    """Read one NAACL file into :class:`Example` objects."""
    examples: list[Example] = []
    tokens: list[tuple[str, str]] = []
    with path.open(encoding="utf-8") as fh:
        for line in [*fh, ""]:
            parts = line.split()
            if len(parts) >= 2:
                tokens.append((parts[0], parts[1]))
            elif tokens:
                examples.append(_example(tokens))
                tokens = []
    return examples


def _example(tokens: Sequence[tuple[str, str]]) -> Example:
    text = ""
    tags: list[str] = []
    for tok, tag in tokens:
        text += tok
        if tag == "O":
            tags.extend(["O"] * len(tok))
            continue
        prefix, _, label = tag.partition("-")
        label = label.lower()
        tags.append(f"{prefix}-{label}")
        tags.extend([f"I-{label}"] * (len(tok) - 1))
    return Example(text, tuple(entities_from_bio(tags)))


def entities_from_bio(
    tags: Sequence[str], bounds: Sequence[tuple[int, int]] | None = None
) -> list[Entity]:
    """Entities of a BIO sequence (an ``I-`` after a different label starts a new entity).

    ``bounds`` gives the ``[start, end)`` of each tag's token (default: one character each).

    >>> entities_from_bio(["B-city", "I-city", "O", "I-road", "B-roadno"])
    [('city', 0, 2), ('road', 3, 4), ('roadno', 4, 5)]
    """
    spans = bounds if bounds is not None else [(i, i + 1) for i in range(len(tags))]
    out: list[Entity] = []
    label: str | None = None
    start = end = 0
    for tag, (a, b) in zip(tags, spans, strict=True):
        prefix, _, lab = tag.partition("-")
        if prefix == "I" and lab == label:
            end = b
            continue
        if label is not None:
            out.append((label, start, end))
        label, start, end = (lab, a, b) if prefix in ("B", "I") else (None, 0, 0)
    if label is not None:
        out.append((label, start, end))
    return out


def token_tags(example: Example, mapped: Mapped) -> tuple[list[tuple[int, int]], list[str]]:
    """Tokens of the normalised text and their BIO tags, carried through the offset map."""
    owner: list[int] = [-1] * len(example.text)
    for idx, (_label, a, b) in enumerate(example.entities):
        for i in range(a, b):
            owner[i] = idx
    spans = tokenize(mapped.text)
    tags: list[str] = []
    previous = -1
    for a, _b in spans:
        idx = owner[mapped.starts[a]]
        if idx < 0:
            tags.append("O")
        else:
            tags.append(("I-" if idx == previous else "B-") + example.entities[idx][0])
        previous = idx
    return spans, tags


@dataclass
class Score:
    """Entity-level counts per label (exact span match)."""

    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]

    @classmethod
    def of(cls, gold: Iterable[Iterable[Entity]], pred: Iterable[Iterable[Entity]]) -> Score:
        """Count true/false positives and false negatives over paired gold and predicted sets."""
        tp: Counter[str] = Counter()
        fp: Counter[str] = Counter()
        fn: Counter[str] = Counter()
        for g, p in zip(gold, pred, strict=True):
            gs, ps = set(g), set(p)
            for label, _a, _b in gs & ps:
                tp[label] += 1
            for label, _a, _b in ps - gs:
                fp[label] += 1
            for label, _a, _b in gs - ps:
                fn[label] += 1
        return cls(tp, fp, fn)

    def prf(self, labels: Iterable[str]) -> tuple[float, float, float, int]:
        """Micro precision, recall, F1 and support over ``labels``."""
        labels = list(labels)
        tp = sum(self.tp[x] for x in labels)
        fp = sum(self.fp[x] for x in labels)
        fn = sum(self.fn[x] for x in labels)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, tp + fn
