"""Layers of a Shenzhen-size generated city, drawn with numpy in bulk (for the scale benchmarks).

:func:`layers.demo_data.sample_layers` draws row by row in Python: right for the sample city, about
45 minutes for 17.7 million people. This module draws the same kinds of rows with the same rates
(:data:`layers.demo_data.PEOPLE_PER_HOUSEHOLD`, the address-only share, enterprises, events and
sensors per resident, 1 % bad check characters) column by column, and writes the CSV files with
pyarrow. Clerk-typed addresses go through :func:`layers.demo_data.clerk_address` (one fifth of the
people). The rows differ from ``sample_layers`` for the same seed; both are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from layers import demo_data
from layers.demo_data import (
    ADDRESS_ONLY_SHARE,
    ENTERPRISES_PER_RESIDENT,
    EVENTS_PER_RESIDENT,
    PEOPLE_PER_HOUSEHOLD,
    SENSORS_PER_RESIDENT,
    clerk_address,
)
from layers.events import STATES
from layers.validate import USCC_ALPHABET, USCC_WEIGHTS

_SURNAMES = np.array(demo_data.SURNAMES)
_GIVEN = np.array(demo_data.GIVEN_NAMES)
_INDUSTRIES = np.array(demo_data.INDUSTRIES)
_DEPARTMENTS = np.array(demo_data.DEPARTMENTS)
_EVENT_KINDS = np.array([kind for kind, _ in demo_data.EVENT_CODES])
_EVENT_CODES = np.array([code for _, code in demo_data.EVENT_CODES])
_SENSOR_TYPES = np.array(demo_data.SENSOR_TYPES)
_SOURCES = np.array(demo_data.EVENT_SOURCES)


def _mod11_2(bodies: np.ndarray) -> np.ndarray:
    """GB 11643 check characters of 17-digit bodies (:func:`address_registry.ids.mod11_2`)."""
    digits = np.frombuffer(bodies.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - 48
    weights = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
    check = (12 - (digits.astype(np.int64) @ weights) % 11) % 11
    return np.array(list("0123456789X"))[check]


def _uscc(rng: np.random.Generator, counties: np.ndarray) -> np.ndarray:
    """Valid unified social credit codes (GB 32100) in the given counties."""
    alphabet = np.array(list(USCC_ALPHABET[:10] + "ABCDEFGH"))
    tail = alphabet[rng.integers(0, len(alphabet), (len(counties), 9))]
    bodies = np.char.add(np.char.add("91", counties.astype("U6")), _join(tail))
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(ch) for ch in USCC_ALPHABET]] = np.arange(len(USCC_ALPHABET))
    raw = np.frombuffer(bodies.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17)
    values = lookup[raw]
    check = (31 - (values @ np.array(USCC_WEIGHTS, dtype=np.int64)) % 31) % 31
    return np.char.add(bodies, np.array(list(USCC_ALPHABET))[check])


def _join(chars: np.ndarray) -> np.ndarray:
    """Rows of single characters joined into strings."""
    out = chars[:, 0].astype(object)
    for j in range(1, chars.shape[1]):
        out = out + chars[:, j].astype(object)
    return out.astype(str)


def _flip_last(codes: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """A wrong last (check) character where ``bad``."""
    out = codes.astype(object)
    for i in np.flatnonzero(bad):
        c = out[i]
        out[i] = c[:-1] + ("0" if c[-1] != "0" else "1")
    return out


def _write(path: Path, columns: dict[str, object]) -> int:
    table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    pacsv.write_csv(table, path)
    return table.num_rows


def _write_blocks(path: Path, blocks: Iterator[dict[str, object]]) -> int:
    """Write tables block by block into one CSV file (one header)."""
    rows = 0
    writer: pacsv.CSVWriter | None = None
    try:
        for columns in blocks:
            table = pa.table({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
            if writer is None:
                writer = pacsv.CSVWriter(path, table.schema)
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _str(values: np.ndarray) -> np.ndarray:
    return values.astype(str)


#: People drawn per block (memory stays bounded at any city size).
_BLOCK = 2_000_000


def _people(
    rng: np.random.Generator,
    rooms: dict[str, np.ndarray],
    home_of: np.ndarray,
    alone: np.ndarray,
    start: int,
) -> dict[str, object]:
    """People rows ``start ..`` living in the rooms ``home_of`` (``alone``: one-person home)."""
    n = len(home_of)
    birth = np.datetime64("2026-11-01") - rng.integers(0, 90 * 365, n).astype("timedelta64[D]")
    seq = rng.integers(0, 1000, n)
    ymd = np.char.replace(_str(birth), "-", "")
    bodies = np.char.add(
        np.char.add(rooms["community_code"][home_of].astype("U6"), ymd),
        np.char.zfill(_str(seq), 3),
    )
    id_numbers = _flip_last(np.char.add(bodies, _mod11_2(bodies)), rng.random(n) < 0.01)
    names = _SURNAMES[rng.integers(0, len(_SURNAMES), n)].astype(object) + _GIVEN[
        rng.integers(0, len(_GIVEN), n)
    ].astype(object)
    two = rng.random(n) < 0.5
    names[two] = names[two] + _GIVEN[rng.integers(0, len(_GIVEN), int(two.sum()))].astype(object)
    address = rooms["address"][home_of].astype(object)
    room_id = rooms["room_id"][home_of].astype(object)
    typed = np.flatnonzero((address != "") & (rng.random(n) < ADDRESS_ONLY_SHARE))
    for i in typed:
        address[i] = clerk_address(address[i], room_id[i], rng)
        room_id[i] = ""
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    return {
        "source_id": np.char.add("P", np.char.zfill(_str(np.arange(start, start + n)), 9)),
        "id_number": id_numbers,
        "name": names,
        "sex": np.where(seq % 2 == 1, "男", "女"),
        "birth_date": _str(birth),
        "hukou_type": rng.choice(["registered", "floating"], n, p=[0.65, 0.35]),
        "care_tags": np.where(alone & (years < 1956), "elderly_alone", ""),
        "address": address,
        "room_id": room_id,
        "phone": np.char.add(
            np.char.add("1", _str(rng.integers(3, 10, n))),
            np.char.zfill(_str(rng.integers(0, 10**9, n)), 9),
        ),
    }


def city_layers(
    con: duckdb.DuckDBPyConnection, out_dir: Path, *, seed: int, max_people: int
) -> dict[str, int]:
    """Write people, houses, legal_persons, events and sensors CSV files for the register in
    ``con``; return the rows per file."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    found = con.execute(
        "SELECT r.room_id, coalesce(b.address, b.name, '') AS address, b.lon, b.lat, "
        "b.community_code, coalesce(r.use, 'household') AS use "
        "FROM rooms r JOIN buildings b USING (building_id) "
        "WHERE r.status = 'active' AND b.status = 'active' ORDER BY r.room_id"
    ).fetchnumpy()
    rooms = {k: np.asarray(v) for k, v in found.items()}
    homes = np.flatnonzero(rooms["use"] == "household")
    shops = np.flatnonzero(np.isin(rooms["use"], ["shop", "office"]))
    if not len(shops):
        shops = homes
    counts: dict[str, int] = {}

    # houses: one per residential room; people: the households of the occupied ones
    use = rng.choice(["owner_occupied", "rented", "vacant"], len(homes), p=[0.6, 0.3, 0.1])
    size = np.where(
        use == "vacant", 0, np.maximum(1, rng.poisson(PEOPLE_PER_HOUSEHOLD, len(homes)))
    )
    counts["houses"] = _write(
        out_dir / "houses.csv",
        {
            "source_id": np.char.add("H", np.char.zfill(_str(np.arange(len(homes))), 8)),
            "room_id": rooms["room_id"][homes],
            "use": use,
            "occupants": _str(size),
            "rental_registered": np.where(use == "rented", "yes", ""),
            "rental_reg_no": np.full(len(homes), ""),
        },
    )
    home_of = np.repeat(homes, size)[:max_people]
    alone = np.repeat(size == 1, size)[:max_people]
    n = len(home_of)
    counts["people"] = _write_blocks(
        out_dir / "people.csv",
        (
            _people(rng, rooms, home_of[i : i + _BLOCK], alone[i : i + _BLOCK], i)
            for i in range(0, n, _BLOCK)
        ),
    )

    def jitter(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon = rooms["lon"][at] + rng.normal(0, 0.0002, len(at))
        lat = rooms["lat"][at] + rng.normal(0, 0.0002, len(at))
        return np.char.mod("%.6f", lon), np.char.mod("%.6f", lat)

    m = max(1, round(n * ENTERPRISES_PER_RESIDENT))
    at = shops[rng.integers(0, len(shops), m)]
    lon, lat = jitter(at)
    codes = _uscc(rng, rooms["community_code"][at])
    counts["legal_persons"] = _write(
        out_dir / "legal_persons.csv",
        {
            "source_id": np.char.add("L", np.char.zfill(_str(np.arange(m)), 8)),
            "uscc": _flip_last(codes, rng.random(m) < 0.01),
            "name": np.char.add(
                np.char.add(rooms["address"][at].astype(str), "商户"), _str(np.arange(m))
            ),
            "industry": _INDUSTRIES[rng.integers(0, len(_INDUSTRIES), m)],
            "address": rooms["address"][at],
            "lon": lon,
            "lat": lat,
        },
    )

    k = max(1, round(n * EVENTS_PER_RESIDENT))
    at = homes[rng.integers(0, len(homes), k)]
    lon, lat = jitter(at)
    cat = rng.integers(0, len(_EVENT_CODES), k)
    reached = rng.integers(1, len(STATES) + 1, k)
    t = np.datetime64("2026-01-01T00:00") + rng.integers(0, 300 * 24 * 60, k).astype(
        "timedelta64[m]"
    )
    times = {}
    for j, state in enumerate(STATES):
        text = np.char.replace(_str(t.astype("datetime64[s]")), "T", " ")
        times[f"{state}_at"] = np.where(reached > j, text, "")
        t = t + rng.integers(5, 600, k).astype("timedelta64[m]")
    counts["events"] = _write(
        out_dir / "events.csv",
        {
            "source_id": np.char.add("E", np.char.zfill(_str(np.arange(k)), 8)),
            "category_kind": _EVENT_KINDS[cat],
            "category": _EVENT_CODES[cat],
            "source": _SOURCES[rng.integers(0, len(_SOURCES), k)],
            "description": np.full(k, ""),
            "address": rooms["address"][at],
            "lon": lon,
            "lat": lat,
            "state": np.array(STATES)[reached - 1],
            **times,
            "department": np.where(
                reached >= 3, _DEPARTMENTS[rng.integers(0, len(_DEPARTMENTS), k)], ""
            ),
        },
    )

    s = max(1, round(n * SENSORS_PER_RESIDENT))
    at = homes[rng.integers(0, len(homes), s)]
    lon, lat = jitter(at)
    kind = _SENSOR_TYPES[rng.integers(0, len(_SENSOR_TYPES), s)]
    camera = kind == "camera"

    def camera_value(lo: int, hi: int) -> np.ndarray:
        return np.where(camera, _str(rng.integers(lo, hi, s)), "")

    counts["sensors"] = _write(
        out_dir / "sensors.csv",
        {
            "source_id": np.char.add("S", np.char.zfill(_str(np.arange(s)), 7)),
            "sensor_type": kind,
            "lon": lon,
            "lat": lat,
            "status": np.full(s, "online"),
            "installed": np.full(s, "2025-06-01"),
            "camera_range_m": camera_value(30, 120),
            "camera_fov_deg": camera_value(40, 120),
            "camera_heading_deg": camera_value(0, 360),
        },
    )
    return counts
