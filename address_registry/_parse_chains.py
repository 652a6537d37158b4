"""Admin chains: which province/city/district/town/community an address names.

A chain is a run of admin spans of strictly increasing level (省 → 市 → 区 → 街道 → 社区). An
address can name two (a sender's prefix, a copy-paste, 杭州市余杭区 … 上海市浦东新区 …); the
model often tags the second as ``redundant``, so a redundant span that is exactly a division name
joins the chains too. The chain chosen is the last one that ends before the street part (road,
number, estate, building …): the street belongs to the admin area written just before it. With no
street part the most complete chain wins (the later one on ties). Levels missing from the chosen
chain are taken from another chain only when both name the same area at some level (a repeated
chain), never from an unrelated one: no province is invented.
"""

from __future__ import annotations

from dataclasses import dataclass

from address_registry._parse_gazetteer import gazetteer

#: Admin labels of the model and their level.
ADMIN_LEVEL = {"prov": 0, "city": 1, "district": 2, "devzone": 3, "town": 4, "community": 5}
STREET_PART = frozenset(
    {"road", "roadno", "poi", "subpoi", "houseno", "cellno", "floorno", "roomno"}
)
_MUNICIPALITY = frozenset({"北京市", "天津市", "上海市", "重庆市"})
_GAZ_LABEL = {"P": "prov", "C": "city", "D": "district", "T": "town"}


@dataclass(frozen=True, slots=True)
class Span:
    """One labelled piece of the address.

    ``start``/``end`` index the text as written; ``text`` is that substring and ``normalized``
    its canonical spelling (三号楼 → 3栋).
    """

    label: str
    start: int
    end: int
    text: str
    normalized: str


def _admin_label(span: Span) -> str | None:
    """The admin label of a span, reading redundant spans that are whole division names."""
    if span.label in ADMIN_LEVEL:
        return span.label
    if span.label != "redundant":
        return None
    if span.normalized in _MUNICIPALITY:
        return "city"  # municipalities are labelled city, as in the NAACL guideline
    tags = gazetteer().get(span.normalized, frozenset())
    for letter in "DCTP":
        if letter in tags:
            return _GAZ_LABEL[letter]
    return None


def chains(spans: list[Span]) -> list[list[tuple[str, Span]]]:
    """Group admin spans into chains of strictly increasing level."""
    out: list[list[tuple[str, Span]]] = []
    last = -1
    for span in spans:
        label = _admin_label(span)
        if label is None:
            continue
        level = ADMIN_LEVEL[label]
        if not out or level <= last:
            out.append([])
        out[-1].append((label, span))
        last = level
    return out


def pick(found: list[list[tuple[str, Span]]], spans: list[Span]) -> dict[str, str]:
    """``{label: normalized}`` of the chosen chain, completed from repeats of it."""
    if not found:
        return {}
    street = [s.start for s in spans if s.label in STREET_PART]
    before = [i for i, c in enumerate(found) if street and c[-1][1].end <= min(street)]
    chosen = before[-1] if before else max(range(len(found)), key=lambda i: (len(found[i]), i))
    values = {label: span.normalized for label, span in found[chosen]}
    for i, chain in enumerate(found):
        other = {label: span.normalized for label, span in chain}
        if i == chosen or not any(values.get(k) == v for k, v in other.items()):
            continue
        if any(values.get(k, v) != v for k, v in other.items()):
            continue  # conflicting chain: do not mix
        for k, v in other.items():
            values.setdefault(k, v)
    return values
