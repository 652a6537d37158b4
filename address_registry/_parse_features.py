"""Tokens and CRF features of a normalised address.

Tokens follow the NAACL 2019 data: a run of digits or of latin letters is one token, every other
character is a token of its own. Features per token: the token (digits and latin runs by shape),
its character class, unigrams/bigrams/trigrams of the surrounding tokens, gazetteer membership
(begin/inside/end/single of the longest division name covering it, by level and full/short form),
suffix classes, the rank of a number among the numbers of the address, and the position.
"""

from __future__ import annotations

import re

from address_registry._parse_gazetteer import gazetteer, name_prefixes

_TOKEN = re.compile(r"\d+|[A-Z]+|.", re.S)
_ADMIN_SUFFIX = frozenset("省市区县镇乡街道村")
_ROAD_SUFFIX = frozenset("路街巷弄道桥")
_NUM_MARKER = frozenset("号栋单元层室")
_POI_SUFFIX = frozenset("苑园城府庭湾寓厦场馆院所店司厂心楼阁墅庄舍")


def tokenize(text: str) -> list[tuple[int, int]]:
    """Return the ``[start, end)`` of each token of normalised ``text``.

    >>> tokenize("A区12栋")
    [(0, 1), (1, 2), (2, 4), (4, 5)]
    """
    return [m.span() for m in _TOKEN.finditer(text)]


def _shape(tok: str) -> str:
    if tok.isdigit():
        return f"D{min(len(tok), 5)}"
    if tok.isascii() and tok.isalpha():
        return f"L{min(len(tok), 3)}"
    return tok


def _cls(tok: str) -> str:
    if tok.isdigit():
        return "D"
    if tok.isascii() and tok.isalpha():
        return "L"
    if "\u3400" <= tok <= "\u9fff":
        return "H"
    return "P"


def gazetteer_marks(text: str) -> list[set[str]]:
    """Per character, the gazetteer marks ``<tag><B|I|E|S>`` of the longest match per tag.

    >>> sorted(gazetteer_marks("杭州市")[0])
    ['CB', 'cB']
    """
    names = gazetteer()
    prefixes = name_prefixes()
    n = len(text)
    best: dict[str, dict[int, int]] = {}
    for i in range(n):
        for end in range(i + 1, n + 1):
            piece = text[i:end]
            if piece not in prefixes:
                break
            tags = names.get(piece)
            if tags and end - i > 1:
                for tag in tags:
                    best.setdefault(tag, {})[i] = end - i  # longer matches come later and win
    marks: list[set[str]] = [set() for _ in range(n)]
    for tag, starts in best.items():
        covered = 0
        for i in sorted(starts):
            if i < covered:
                continue  # leftmost-longest, no overlap within one tag
            length = starts[i]
            marks[i].add(tag + "B")
            for k in range(i + 1, i + length - 1):
                marks[k].add(tag + "I")
            marks[i + length - 1].add(tag + "E")
            covered = i + length
    return marks


_SUFFIX_FEATURES = {
    c: [
        f"sfx={kind}"
        for kind, chars in (
            ("admin", _ADMIN_SUFFIX),
            ("road", _ROAD_SUFFIX),
            ("num", _NUM_MARKER),
            ("poi", _POI_SUFFIX),
        )
        if c in chars
    ]
    for c in _ADMIN_SUFFIX | _ROAD_SUFFIX | _NUM_MARKER | _POI_SUFFIX
}
_POS = ["pos=" + str(min(k, 6)) for k in range(7)]
_RPOS = ["rpos=" + str(min(k, 6)) for k in range(7)]


def features(text: str, spans: list[tuple[int, int]]) -> list[list[str]]:
    """CRF features of each token ``spans`` of normalised ``text``.

    Built column by column (one list comprehension per feature template), then zipped per token.
    """
    toks = [text[a:b] for a, b in spans]
    n = len(toks)
    w = ["^^", "^", *map(_shape, toks), "$", "$$"]
    w0, wm1, wp1, wm2, wp2 = w[2:-2], w[1:-3], w[3:-1], w[:-4], w[4:]
    columns = zip(
        ["w=" + x for x in w0],
        ["c=" + _cls(t) for t in toks],
        ["w-1=" + x for x in wm1],
        ["w+1=" + x for x in wp1],
        ["w-2=" + x for x in wm2],
        ["w+2=" + x for x in wp2],
        ["w-1w=" + x + y for x, y in zip(wm1, w0, strict=True)],
        ["ww+1=" + x + y for x, y in zip(w0, wp1, strict=True)],
        ["w-2w-1=" + x + y for x, y in zip(wm2, wm1, strict=True)],
        ["w+1w+2=" + x + y for x, y in zip(wp1, wp2, strict=True)],
        ["w-1ww+1=" + x + y + z for x, y, z in zip(wm1, w0, wp1, strict=True)],
        ["w-2w-1w=" + x + y + z for x, y, z in zip(wm2, wm1, w0, strict=True)],
        ["ww+1w+2=" + x + y + z for x, y, z in zip(w0, wp1, wp2, strict=True)],
        [_POS[min(k, 6)] for k in range(n)],
        [_RPOS[min(n - 1 - k, 6)] for k in range(n)],
        strict=True,
    )
    out = [["b", *row] for row in columns]
    marks = gazetteer_marks(text)
    token_marks = [marks[a] for a, _b in spans]
    numbers = [k for k, t in enumerate(toks) if t[0].isdigit()]
    for k, f in enumerate(out):
        here = token_marks[k]
        if here:
            f.extend(["g=" + m for m in here])
        if k + 1 < n and token_marks[k + 1]:
            f.extend(["g+1=" + m for m in token_marks[k + 1]])
        if k and token_marks[k - 1]:
            f.extend(["g-1=" + m for m in token_marks[k - 1]])
        sfx = _SUFFIX_FEATURES.get(toks[k])
        if sfx:
            f.extend(sfx)
    total = len(numbers)
    for r, k in enumerate(numbers):
        left = str(min(total - 1 - r, 3))
        out[k].extend((f"num={min(r, 3)}", "numleft=" + left, "numleft=" + left + "w+1=" + wp1[k]))
    return out
