"""Address parser: free text → labelled components (province ... room) with their spans.

The text is normalised (:mod:`address_registry.normalize`), cut into tokens and tagged by a
linear-chain CRF (python-crfsuite) trained on the NAACL 2019 labelled addresses with character,
n-gram, gazetteer and number-rank features (``address_registry/train_parser.py``). Spans are
mapped back to the text as written.

Only what is written is returned: no province is filled in, renamed districts stay as written
(下城区 stays 下城区: dated aliases are the resolver's job). When the text holds two admin chains
(浙江省杭州市余杭区 … 上海市浦东新区 …) the chain written just before the street part wins, not
simply the first (:mod:`address_registry._parse_chains`); :attr:`ParsedAddress.admin_chains` says
how many there were.

>>> p = parse("彭埠镇环站东路新和嘉苑10幢5单元1638室")
>>> p.town, p.road, p.poi, p.building, p.unit, p.room, p.province
('彭埠镇', '环站东路', '新和嘉苑', '10栋', '5单元', '1638室', None)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from address_registry._parse_chains import ADMIN_LEVEL, Span, chains, pick
from address_registry._parse_data import entities_from_bio
from address_registry._parse_edits import Mapped
from address_registry._parse_features import features, tokenize
from address_registry.normalize import normalize_mapped, validate
from common.errors import MissingDependency

__all__ = ["FIELDS", "MODEL_PATH", "ParsedAddress", "Span", "parse", "parse_many"]

#: The shipped model (trained by ``python -m address_registry.train_parser``).
MODEL_PATH = Path(__file__).resolve().parent / "models" / "parser.crfsuite"

#: Model label → field of :class:`ParsedAddress`.
FIELDS = {
    "prov": "province",
    "city": "city",
    "district": "district",
    "devzone": "devzone",
    "town": "town",
    "community": "community",
    "road": "road",
    "roadno": "roadno",
    "subroad": "subroad",
    "subroadno": "subroadno",
    "poi": "poi",
    "subpoi": "subpoi",
    "houseno": "building",
    "cellno": "unit",
    "floorno": "floor",
    "roomno": "room",
}


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """Components of one address (``None`` when not written) and every labelled span."""

    text: str
    normalized: str
    province: str | None = None
    city: str | None = None
    district: str | None = None
    devzone: str | None = None
    town: str | None = None
    community: str | None = None
    road: str | None = None
    roadno: str | None = None
    subroad: str | None = None
    subroadno: str | None = None
    poi: str | None = None
    subpoi: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    admin_chains: int = 0
    spans: tuple[Span, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary."""
        return asdict(self)


_local = threading.local()


def _tagger(path: Path = MODEL_PATH) -> Any:
    """The CRF tagger of ``path``, one per thread (a crfsuite Tagger is not thread-safe)."""
    cache: dict[Path, Any] = _local.__dict__.setdefault("taggers", {})
    tagger = cache.get(path)
    if tagger is None:
        import pycrfsuite

        if not path.is_file():
            raise MissingDependency(
                f"parser model {path!s} not found: train it with "
                "`python -m address_registry.train_parser --data DIR --out FILE`"
            )
        tagger = pycrfsuite.Tagger()
        tagger.open(str(path))
        cache[path] = tagger
    return tagger


def tag_mapped(mapped: Mapped, model: Path = MODEL_PATH) -> list[tuple[str, int, int]]:
    """Entities ``(label, start, end)`` in *normalised* offsets of an already normalised text."""
    spans = tokenize(mapped.text)
    if not spans:
        return []
    tags = _tagger(model).tag(features(mapped.text, spans))
    return entities_from_bio(tags, bounds=spans)


def original_entities(
    mapped: Mapped, entities: Iterable[tuple[str, int, int]]
) -> list[tuple[str, int, int]]:
    """Map normalised-offset entities back to the text as written."""
    return [(label, *mapped.original_span(a, b)) for label, a, b in entities]


def _build(text: str, mapped: Mapped, entities: list[tuple[str, int, int]]) -> ParsedAddress:
    spans: list[Span] = []
    for label, a, b in entities:
        start, end = mapped.original_span(a, b)
        if spans and start < spans[-1].end:
            # Two entities made from one replaced stretch (门 → 单元 split by the model): the
            # later one starts where the earlier ends, or vanishes if nothing is left.
            start = spans[-1].end
            if start >= end:
                continue
        spans.append(Span(label, start, end, text[start:end], mapped.text[a:b]))
    found = chains(spans)
    values = {FIELDS[label]: value for label, value in pick(found, spans).items()}
    for span in spans:
        if span.label in FIELDS and span.label not in ADMIN_LEVEL:
            values.setdefault(FIELDS[span.label], span.normalized)
    return ParsedAddress(
        text=text,
        normalized=mapped.text,
        admin_chains=len(found),
        spans=tuple(spans),
        **values,
    )


def parse(text: str, *, model: Path = MODEL_PATH) -> ParsedAddress:
    """Parse one address.

    Raises
    ------
    InvalidInput
        For empty, over-long (> 200 characters), binary or non-Chinese input.
    MissingDependency
        When the model file is missing.
    """
    mapped = normalize_mapped(validate(text))
    return _build(text, mapped, tag_mapped(mapped, model))


def parse_many(texts: Iterable[str], *, model: Path = MODEL_PATH) -> list[ParsedAddress]:
    """Parse many addresses (validated first: one bad address raises before any work)."""
    items = [validate(t) for t in texts]
    return [parse(t, model=model) for t in items]
