"""A lean Mapbox Vector Tile 2.1 encoder: numpy in, protobuf bytes out, no Python loop per feature.

Every field of a ``Tile.Feature`` is a varint (field keys, lengths, the id, the type, and the
packed ``tags`` and ``geometry`` integers), so a layer's whole ``features`` section is one stream
of unsigned integers, varint-encoded in one vectorised pass. Lengths that prefix a message are
computed from the byte lengths of the integers that follow. Keys and values tables are built from
per-layer precomputed ``Value`` messages (:class:`Columns`).

>>> import shapely
>>> from mapbox_vector_tile import decode
>>> data = encode("demo", [shapely.box(0, 0, 10, 10)], ids=[7], properties=[{"use": "office"}])
>>> layer = decode(data)["demo"]
>>> layer["features"][0]["id"], layer["features"][0]["properties"]
(7, {'use': 'office'})
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from api.tiles._clean import clean
from api.tiles._ragged import IntArray, Kind, Ragged, geometries_to_ragged

U64 = npt.NDArray[np.uint64]

#: ``Tile.GeomType`` of each kind.
GEOM_TYPE: dict[str, int] = {"point": 1, "line": 2, "polygon": 3}
_MOVE_TO, _LINE_TO, _CLOSE_PATH = 1, 2, 7


def varint(n: int) -> bytes:
    """Protobuf varint of one non-negative integer.

    >>> varint(300).hex()
    'ac02'
    """
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def varint_lengths(values: U64) -> IntArray:
    """Byte length of the varint of every value.

    >>> varint_lengths(np.array([0, 127, 128, 2**53], dtype=np.uint64)).tolist()
    [1, 1, 2, 8]
    """
    if not len(values):
        return np.ones(0, dtype=np.int64)
    top = int(values.max())
    if top < 128:
        return np.ones(len(values), dtype=np.int64)
    lens = (values >= np.uint64(128)).astype(np.int64)
    lens += 1
    k = 14
    while top >> k:
        lens += values >= np.uint64(1 << k)
        k += 7
    return lens


def encode_varints(values: U64, lens: IntArray | None = None) -> bytes:
    """Concatenated varints of an array of unsigned integers (vectorised).

    The first two bytes of every varint are written with whole-array operations; the rare values
    longer than two bytes (feature ids, large lengths) are finished as a small matrix.

    >>> encode_varints(np.array([1, 300, 0, 2**40], dtype=np.uint64)).hex()
    '01ac0200808080808020'
    """
    if not len(values):
        return b""
    if lens is None:
        lens = varint_lengths(values)
    ends = np.cumsum(lens)
    total = int(ends[-1])
    if total == len(values):
        return values.astype(np.uint8).tobytes()
    starts = ends - lens
    out = np.empty(total, dtype=np.uint8)
    multi = lens > 1
    low = (values & np.uint64(0x7F)).astype(np.uint8)
    low[multi] |= 0x80
    out[starts] = low
    sel = np.flatnonzero(multi)
    v1 = values[sel] >> np.uint64(7)
    second = (v1 & np.uint64(0x7F)).astype(np.uint8)
    longer = lens[sel] > 2
    second[longer] |= 0x80
    out[starts[sel] + 1] = second
    if longer.any():
        big = sel[longer]
        width = int(lens[big].max())
        k = np.arange(2, width, dtype=np.uint64)
        mat = values[big, None] >> (k[None, :] * np.uint64(7))
        byte = (mat & np.uint64(0x7F)).astype(np.uint8)
        kk = np.arange(2, width)
        has = kk[None, :] < lens[big, None]
        byte[kk[None, :] < lens[big, None] - 1] |= 0x80
        pos = starts[big, None] + kk[None, :]
        out[pos[has]] = byte[has]
    return out.tobytes()


def zigzag(d: npt.NDArray[np.int64]) -> U64:
    """Zigzag-encode signed integers (``0, -1, 1, -2`` -> ``0, 1, 2, 3``).

    >>> zigzag(np.array([0, -1, 1, -2, 2])).tolist()
    [0, 1, 2, 3, 4]
    """
    d = d.astype(np.int64)
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


def geometry_commands(r: Ragged) -> tuple[U64, IntArray]:
    """MVT command integers of every feature of a cleaned integer :class:`Ragged`.

    Returns the concatenated integers and the offsets of each feature's run in them.
    Rings carry no closing vertex (``ClosePath`` closes them); the cursor restarts at ``(0, 0)``
    for every feature and runs on across its parts.
    """
    c: npt.NDArray[np.int64] = np.asarray(r.coords, dtype=np.int64)
    n_parts = len(r.part_off) - 1
    plen = np.diff(r.part_off)
    if r.kind == "point":
        per_part = 2 * plen + 1
    elif r.kind == "line":
        per_part = 2 * plen + 2
    else:
        per_part = 2 * plen + 3
    part_start = np.zeros(n_parts + 1, dtype=np.int64)
    np.cumsum(per_part, out=part_start[1:])
    out = np.empty(int(part_start[-1]), dtype=np.uint64)
    # deltas against the previous vertex; the first vertex of a feature against (0, 0)
    delta = np.empty_like(c)
    if len(c):
        delta[0] = c[0]
        delta[1:] = c[1:] - c[:-1]
        first_v = r.part_off[r.feat_off[:-1]]
        first_v = first_v[first_v < len(c)]
        delta[first_v] = c[first_v]
    pid = np.repeat(np.arange(n_parts), plen)
    j = np.arange(len(c)) - r.part_off[pid]
    pos = part_start[pid] + 1 + 2 * j
    if r.kind != "point":
        pos += j > 0
    zz = zigzag(delta.reshape(-1)).reshape(-1, 2)
    out[pos] = zz[:, 0]
    out[pos + 1] = zz[:, 1]
    heads = part_start[:-1]
    if r.kind == "point":
        out[heads] = (plen.astype(np.uint64) << np.uint64(3)) | np.uint64(_MOVE_TO)
    else:
        out[heads] = np.uint64((1 << 3) | _MOVE_TO)
        out[heads + 3] = ((plen - 1).astype(np.uint64) << np.uint64(3)) | np.uint64(_LINE_TO)
        if r.kind == "polygon":
            out[part_start[1:] - 1] = np.uint64((1 << 3) | _CLOSE_PATH)
    feat_int_off = part_start[r.feat_off]
    return out, feat_int_off


def _segment_sums(values: IntArray, offsets: IntArray) -> IntArray:
    sums = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=sums[1:])
    result: IntArray = sums[offsets[1:]] - sums[offsets[:-1]]
    return result


def features_stream(
    ids: U64,
    kind: Kind,
    geom: U64,
    geom_off: IntArray,
    tags: U64,
    tag_off: IntArray,
    id_lens: IntArray | None = None,
) -> bytes:
    """The ``features`` section of a layer: every ``Feature`` message with its field key.

    The values of the stream and their varint lengths are scattered side by side, so that the
    lengths are computed once per part (geometry, tags, ids) and never for the whole stream.
    """
    n = len(ids)
    vg = varint_lengths(geom)
    glen = _segment_sums(vg, geom_off)
    vt = varint_lengths(tags)
    tlen = _segment_sums(vt, tag_off)
    nt = np.diff(tag_off)
    ng = np.diff(geom_off)
    has_tags = nt > 0
    li = varint_lengths(ids) if id_lens is None else id_lens
    lt = varint_lengths(tlen.astype(np.uint64))
    lg = varint_lengths(glen.astype(np.uint64))
    flen = 1 + li + np.where(has_tags, 1 + lt + tlen, 0) + 2 + 1 + lg + glen
    lf = varint_lengths(flen.astype(np.uint64))
    tag_block = np.where(has_tags, 2 + nt, 0)
    count = 8 + tag_block + ng
    start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=start[1:])
    s = start[:-1]
    total = int(start[-1])
    out = np.empty(total, dtype=np.uint64)
    lens = np.ones(total, dtype=np.int64)
    out[s] = 0x12  # Layer.features, length-delimited
    out[s + 1] = flen.astype(np.uint64)
    lens[s + 1] = lf
    out[s + 2] = 0x08  # Feature.id, varint
    out[s + 3] = ids
    lens[s + 3] = li
    ts = s[has_tags] + 4
    out[ts] = 0x12  # Feature.tags, packed
    out[ts + 1] = tlen[has_tags].astype(np.uint64)
    lens[ts + 1] = lt[has_tags]
    if len(tags):
        owner = np.repeat(np.arange(n), nt)
        pos = (s + 6)[owner] + np.arange(len(tags)) - tag_off[owner]
        out[pos] = tags
        lens[pos] = vt
    after = s + 4 + tag_block
    out[after] = 0x18  # Feature.type
    out[after + 1] = GEOM_TYPE[kind]
    out[after + 2] = 0x22  # Feature.geometry, packed
    out[after + 3] = glen.astype(np.uint64)
    lens[after + 3] = lg
    if len(geom):
        owner = np.repeat(np.arange(n), ng)
        pos = (after + 4)[owner] + np.arange(len(geom)) - geom_off[owner]
        out[pos] = geom
        lens[pos] = vg
    return encode_varints(out, lens)


def encode_value(value: Any) -> bytes:
    """One ``Tile.Value`` message (string, bool, sint/uint or double).

    >>> encode_value("a").hex(), encode_value(True).hex(), encode_value(-1).hex()
    ('0a0161', '3801', '3001')
    """
    if isinstance(value, bool | np.bool_):
        return b"\x38" + varint(int(bool(value)))
    if isinstance(value, int | np.integer):
        v = int(value)
        if v >= 0:
            return b"\x28" + varint(v)
        return b"\x30" + varint((v << 1) ^ (v >> 63))
    if isinstance(value, float | np.floating):
        return b"\x19" + struct.pack("<d", float(value))
    raw = str(value).encode("utf-8")
    return b"\x0a" + varint(len(raw)) + raw


@dataclass(frozen=True)
class Columns:
    """Properties of a layer's features, factorised once so that tiles only gather integers.

    ``codes[k][i]`` is the index of feature ``i``'s value of key ``k`` in the layer-wide value
    table (``-1`` for null: the tag is left out, as PostGIS does).
    """

    keys: tuple[str, ...]
    codes: npt.NDArray[np.int64]  # (F, K)
    value_fields: npt.NDArray[np.object_]  # Layer.values field bytes per layer-wide value
    key_fields: bytes = field(default=b"")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Sequence[Any] | npt.ArrayLike], n: int) -> Columns:
        """Factorise columns (``{key: values}``, each of length ``n``; ``None``/NaN is null).

        Layer-wide value codes go to the columns with the fewest distinct values first and, within
        a column, to the most frequent values first. A tile numbers the values it uses in code
        order, so common values (``use``, ``floors``) get one-byte tag indices, as in PostGIS
        (which numbers them in order of appearance).
        """
        keys = tuple(data)
        codes = np.full((n, len(keys)), -1, dtype=np.int64)
        factorised = []
        for key in keys:
            series = pd.Series(np.asarray(data[key], dtype=object))
            if len(series) != n:
                raise ValueError(f"column {key!r} has {len(series)} values for {n} features")
            local, uniques = pd.factorize(series, use_na_sentinel=True)
            values = list(uniques)
            counts = np.bincount(local[local >= 0], minlength=len(values))
            order = np.argsort(-counts, kind="stable")
            rank = np.empty(len(values), dtype=np.int64)
            rank[order] = np.arange(len(values))
            mapped = rank[local] if len(values) else local
            factorised.append((np.where(local >= 0, mapped, -1), [values[i] for i in order]))
        fields: list[bytes] = []
        seen: dict[bytes, int] = {}  # equal values of different keys share one entry (as PostGIS)
        for k in sorted(range(len(keys)), key=lambda k: len(factorised[k][1])):
            local, values = factorised[k]
            code_of = np.empty(len(values), dtype=np.int64)
            for i, value in enumerate(values):
                msg = encode_value(value)
                entry = b"\x22" + varint(len(msg)) + msg
                code = seen.get(entry)
                if code is None:
                    code = seen[entry] = len(fields)
                    fields.append(entry)
                code_of[i] = code
            if len(values):
                codes[:, k] = np.where(local >= 0, code_of[np.maximum(local, 0)], -1)
        key_fields = b"".join(b"\x1a" + varint(len(k.encode())) + k.encode() for k in keys)
        return cls(keys, codes, np.array(fields, dtype=object), key_fields)

    def tags(self, rows: IntArray) -> tuple[U64, IntArray, bytes]:
        """Tags of the given features with a tile-local value table.

        Returns the packed tag integers, their per-feature offsets and the ``values`` section.
        """
        n = len(rows)
        if not self.keys or not n:
            return np.zeros(0, np.uint64), np.zeros(n + 1, np.int64), b""
        m = self.codes[rows]
        present = m >= 0
        used, local = np.unique(m[present], return_inverse=True)
        k_idx = np.broadcast_to(np.arange(len(self.keys)), m.shape)[present]
        pairs = np.empty(2 * len(local), dtype=np.uint64)
        pairs[0::2] = k_idx
        pairs[1::2] = local
        off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(2 * present.sum(axis=1), out=off[1:])
        return pairs, off, b"".join(self.value_fields[used].tolist())


def encode_layer(
    name: str,
    r: Ragged,
    ids: npt.ArrayLike,
    columns: Columns | None = None,
    rows: IntArray | None = None,
    extent: int = 4096,
) -> bytes:
    """A whole ``Tile`` holding one layer; ``b""`` when it has no feature.

    Parameters
    ----------
    name
        Layer name.
    r
        Cleaned integer geometries (see :func:`api.tiles._clip.clean`).
    ids
        Feature ids (unsigned 64-bit), one per feature of ``r``.
    columns, rows
        Properties and, for each feature of ``r``, its row in ``columns``.
    """
    if not r.n_features:
        return b""
    geom, geom_off = geometry_commands(r)
    return encode_commands(name, r.kind, geom, geom_off, ids, columns, rows, extent)


def encode_commands(
    name: str,
    kind: Kind,
    geom: U64,
    geom_off: IntArray,
    ids: npt.ArrayLike,
    columns: Columns | None = None,
    rows: IntArray | None = None,
    extent: int = 4096,
    id_lens: IntArray | None = None,
) -> bytes:
    """A one-layer tile from features' command integers (see :func:`geometry_commands`).

    ``id_lens`` may give the varint lengths of ``ids`` (a layer computes them once).
    """
    fids = np.asarray(ids, dtype=np.uint64)
    n = len(geom_off) - 1
    if not n:
        return b""
    if columns is not None:
        tags, tag_off, values = columns.tags(np.arange(n) if rows is None else np.asarray(rows))
        key_fields = columns.key_fields
    else:
        tags, tag_off, values, key_fields = (
            np.zeros(0, np.uint64),
            np.zeros(n + 1, np.int64),
            b"",
            b"",
        )
    raw_name = name.encode("utf-8")
    body = b"".join(
        [
            b"\x0a" + varint(len(raw_name)) + raw_name,
            features_stream(fids, kind, geom, geom_off, tags, tag_off, id_lens),
            key_fields,
            values,
            b"\x28" + varint(extent),
            b"\x78\x02",  # version 2
        ]
    )
    return b"\x1a" + varint(len(body)) + body


def encode(
    name: str,
    geometries: Sequence[Any],
    ids: Sequence[int] | npt.ArrayLike,
    properties: Sequence[Mapping[str, Any]] | None = None,
    extent: int = 4096,
) -> bytes:
    """Encode shapely geometries given in tile pixels (y down) into a one-layer tile.

    A convenience for tools and tests; tile sources use :func:`encode_layer` on arrays. The
    geometries go through the same cleaning (snapping, repeated and collinear vertices, winding,
    degenerate parts) but are not clipped.
    """
    geoms = np.asarray(list(geometries), dtype=object)
    r = geometries_to_ragged(geoms)
    rows = np.arange(r.n_features)
    r, rows = clean(r, rows, lo=-(2**31), hi=2**31 - 1)
    fids = np.asarray(ids, dtype=np.uint64)[rows]
    columns = None
    if properties is not None:
        keys: dict[str, None] = {}
        for p in properties:
            keys.update(dict.fromkeys(p))
        columns = Columns.from_mapping(
            {k: [p.get(k) for p in properties] for k in keys}, len(geoms)
        )
    return encode_layer(name, r, fids, columns, rows, extent)
