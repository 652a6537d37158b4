"""The demo's layer generator: deterministic sample layers drawn from the register's rooms.

``yizhi demo`` writes these files and ingests them like a department's export (``yizhi layers
sample`` writes them alone). People, legal persons, houses, events, sensors and sensor readings
are drawn from the register's active rooms and buildings (:mod:`address_registry.queries`),
with a seed, at the rates of a real street (Chongqing F street: 184,200 residents, 28,000
enterprises; a city of 17.7 million people has about a million events a year and 100,000
sensors). A small share of rows is deliberately bad (``bad_rate``) so that the quarantine has
something to show. The files are CSV in the default columns of :mod:`layers.schemas`, ready for
``yizhi layers ingest``.

>>> import store
>>> con = store.connect(":memory:")
>>> sample_layers(con, "/tmp/none")
Traceback (most recent call last):
...
common.errors.NotFound: the register has no residential rooms: build it first (yizhi registry build)
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from address_registry import queries as registry
from address_registry.ids import mod11_2
from common.errors import InvalidInput, NotFound
from layers.events import STATES
from layers.validate import USCC_ALPHABET, uscc_check_char

#: Residents per household room, enterprises per resident, events and sensors per resident.
PEOPLE_PER_HOUSEHOLD = 2.4
ENTERPRISES_PER_RESIDENT = 28_000 / 184_200
EVENTS_PER_RESIDENT = 1_000_000 / 17_700_000
SENSORS_PER_RESIDENT = 100_000 / 17_700_000
#: Share of people registered by address text only (no room ID), as a clerk wrote it.
ADDRESS_ONLY_SHARE = 0.2

#: What the generated rows are drawn from (shared with benchmarks._city_layers).
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
GIVEN_NAMES = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏飞建国文")
INDUSTRIES = ["零售业", "餐饮业", "商务服务业", "软件和信息技术服务业", "金融业", "住宿业"]
DEPARTMENTS = ["城管执法", "市政养护", "绿化市容", "房管", "街道办"]
EVENT_CODES = [("part", "0101"), ("part", "0103"), ("part", "0120"), ("event", "0102"),
                ("event", "0201"), ("event", "0302"), ("event", "0405"), ("event", "0505")]  # fmt: skip
SENSOR_TYPES = ["camera", "smoke", "manhole_cover", "oil_fume", "water_level"]
EVENT_SOURCES = ["grid_worker", "hotline_12345", "video", "iot"]


@dataclass(frozen=True)
class SampleReport:
    """Rows written per file."""

    directory: str
    rows: dict[str, int]


def _id_number(region: str, birth: dt.date, seq: int) -> str:
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + mod11_2(body)


def _uscc(rng: np.random.Generator, county: str) -> str:
    tail = "".join(rng.choice(list(USCC_ALPHABET[:10] + "ABCDEFGH"), 10))
    body = f"91{county}{tail[:9]}"
    return body + uscc_check_char(body)


_NUMERALS = str.maketrans("0123456789", "〇一二三四五六七八九")
#: Digits that belong to a name in a generated city (:mod:`synthetic.city`): the
#: areas ``生成1区`` / ``生成001街道`` and the ``·NNN`` tile tag of a road (``滇池路·004``).
_NAME_DIGITS = re.compile(r"(生成[0-9]+|·[0-9]{3})")


def _in_numerals(text: str) -> str:
    """The numbers of an address in Chinese numerals; digits that belong to a name stay (a clerk
    copies a name as it is and writes only the house and room numbers in words).

    >>> _in_numerals("广东省深圳市生成1区生成001街道滇池路·00423号2-1203")
    '广东省深圳市生成1区生成001街道滇池路·004二三号二-一二〇三'
    >>> _in_numerals("黄浦区南京东路35号")
    '黄浦区南京东路三五号'
    """
    return "".join(
        part if _NAME_DIGITS.fullmatch(part) else part.translate(_NUMERALS)
        for part in _NAME_DIGITS.split(text)
    )


def clerk_address(address: str, room_id: str, rng: np.random.Generator) -> str:
    """The address of a room as a clerk types it: levels dropped, the room in one of several
    styles, sometimes in Chinese numerals (:func:`_in_numerals`) or with a noise word."""
    text = address
    if rng.random() < 0.5:
        text = text.replace("上海市", "", 1)
    if rng.random() < 0.3:
        for district in ("黄浦区", "浦东新区"):
            text = text.replace(district, "", 1)
    unit, floor, room = int(room_id[25:27]), int(room_id[27:30]), int(room_id[30:34])
    style = int(rng.integers(0, 3))
    if style == 0 and unit:
        text += f"{unit}单元{room}室"
    elif style == 1:
        text += f"{unit}-{room}" if unit else f"{room}室"
    else:
        text += f"{floor}楼{room % 100:02d}" if unit == 0 else f"{unit}门{room}"
    if rng.random() < 0.15:
        text = _in_numerals(text)
    if rng.random() < 0.05:
        text += str(rng.choice(["附近", "门口"]))
    return text


def _write(path: Path, header: list[str], rows: list[list[str]]) -> int:
    with _Writer(path, header) as w:
        for row in rows:
            w.add(row)
    return w.rows


class _Writer:
    """A CSV file written row by row in blocks (a Shenzhen-size layer never sits in memory)."""

    def __init__(self, path: Path, header: list[str], block: int = 100_000) -> None:
        self.path, self.header, self.block = path, header, block
        self.rows = 0
        self._pending: list[list[str]] = []

    def __enter__(self) -> _Writer:
        self._fh = self.path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._fh)
        self._csv.writerow(self.header)
        return self

    def add(self, row: list[str]) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.block:
            self._flush()

    def _flush(self) -> None:
        self._csv.writerows(self._pending)
        self.rows += len(self._pending)
        self._pending = []

    def __exit__(self, *exc: object) -> None:
        self._flush()
        self._fh.close()


def sample_layers(
    con: duckdb.DuckDBPyConnection,
    out_dir: str | Path,
    *,
    seed: int = 20261123,
    bad_rate: float = 0.01,
    max_people: int | None = None,
) -> SampleReport:
    """Write ``people.csv``, ``legal_persons.csv``, ``houses.csv``, ``events.csv``,
    ``sensors.csv`` and ``readings.csv`` for the register in ``con`` into ``out_dir``.

    Raises
    ------
    InvalidInput
        A negative seed, or a ``bad_rate`` outside [0, 1].
    NotFound
        When the register has no residential rooms.
    """
    if seed < 0:
        raise InvalidInput(f"seed must be a non-negative integer, got {seed}")
    if not 0 <= bad_rate <= 1:
        raise InvalidInput(f"bad_rate must be in [0, 1], got {bad_rate}")
    rooms = con.execute(
        "SELECT r.room_id, b.building_id, coalesce(b.address, b.name, '') AS address, "
        f"b.lon, b.lat, b.community_code, r.use FROM ({registry.rooms_sql(('active',))}) r "
        f"JOIN ({registry.buildings_sql(('active',))}) b USING (building_id) ORDER BY r.room_id"
    ).fetchall()
    homes = [r for r in rooms if (r[6] or "household") == "household"]
    if not homes:
        raise NotFound(
            "the register has no residential rooms: build it first (yizhi registry build)"
        )
    shops = [r for r in rooms if r[6] in ("shop", "office")] or homes
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    base = dt.date(2026, 11, 1)

    # houses and people: one house row per residential room, streamed to their files
    house_header = [
        "source_id",
        "room_id",
        "use",
        "occupants",
        "rental_registered",
        "rental_reg_no",
    ]
    people_header = ["source_id", "id_number", "name", "sex", "birth_date", "hukou_type",
                     "care_tags", "address", "room_id", "phone"]  # fmt: skip
    uses = rng.choice(["owner_occupied", "rented", "vacant"], len(homes), p=[0.6, 0.3, 0.1])
    sizes = rng.poisson(PEOPLE_PER_HOUSEHOLD, len(homes))
    pid = 0
    with (
        _Writer(out / "houses.csv", house_header) as houses,
        _Writer(out / "people.csv", people_header) as people,
    ):
        for i, (room, _b, address, _x, _y, community, _u) in enumerate(homes):
            n = 0 if uses[i] == "vacant" else max(1, int(sizes[i]))
            houses.add(
                [f"H{i:07d}", room, str(uses[i]), str(n), "yes" if uses[i] == "rented" else "", ""]
            )
            for _ in range(n):
                if max_people is not None and pid >= max_people:
                    break
                birth = base - dt.timedelta(days=int(rng.integers(0, 90 * 365)))
                seq = int(rng.integers(0, 1000))
                idn = _id_number(community[:6], birth, seq)
                if rng.random() < bad_rate:  # a typo in the check character
                    idn = idn[:-1] + ("0" if idn[-1] != "0" else "1")
                name = str(rng.choice(SURNAMES)) + "".join(
                    rng.choice(GIVEN_NAMES, int(rng.integers(1, 3)))
                )
                phone = f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}"
                tags = "elderly_alone" if n == 1 and birth.year < 1956 else ""
                said, known = address, room
                if address and rng.random() < ADDRESS_ONLY_SHARE:  # only the address, as typed
                    said, known = clerk_address(address, room, rng), ""
                people.add([
                    f"P{pid:08d}", idn, name, "男" if seq % 2 else "女", f"{birth:%Y-%m-%d}",
                    str(rng.choice(["registered", "floating"], p=[0.65, 0.35])), tags, said, known,
                    phone,
                ])  # fmt: skip
                pid += 1
    counts["houses"], counts["people"] = houses.rows, people.rows

    def jitter(x: float | None, y: float | None) -> tuple[str, str]:
        if x is None or y is None:
            return "", ""
        return f"{x + rng.normal(0, 0.0002):.6f}", f"{y + rng.normal(0, 0.0002):.6f}"

    legal = []
    for i in range(max(1, round(pid * ENTERPRISES_PER_RESIDENT))):
        room = shops[int(rng.integers(0, len(shops)))]
        lon, lat = jitter(room[3], room[4])
        code = _uscc(rng, room[5][:6])
        if rng.random() < bad_rate:
            code = code[:-1] + ("0" if code[-1] != "0" else "1")
        legal.append([f"L{i:07d}", code, f"{room[2] or '某'}商户{i}", str(rng.choice(INDUSTRIES)),
                      room[2], lon, lat])  # fmt: skip
    counts["legal_persons"] = _write(out / "legal_persons.csv", ["source_id", "uscc", "name",
                                     "industry", "address", "lon", "lat"], legal)  # fmt: skip

    events = []
    for i in range(max(1, round(pid * EVENTS_PER_RESIDENT))):
        room = homes[int(rng.integers(0, len(homes)))]
        kind, code = EVENT_CODES[int(rng.integers(0, len(EVENT_CODES)))]
        lon, lat = jitter(room[3], room[4])
        reached = int(rng.integers(1, len(STATES) + 1))
        t = dt.datetime(2026, 1, 1) + dt.timedelta(minutes=int(rng.integers(0, 300 * 24 * 60)))
        times = []
        for _ in range(reached):
            times.append(f"{t:%Y-%m-%d %H:%M:%S}")
            t += dt.timedelta(minutes=int(rng.integers(5, 600)))
        times += [""] * (len(STATES) - reached)
        source = str(rng.choice(EVENT_SOURCES))
        events.append([f"E{i:07d}", kind, code, source, "", room[2], lon, lat, STATES[reached - 1],
                       *times, str(rng.choice(DEPARTMENTS)) if reached >= 3 else ""])  # fmt: skip
    counts["events"] = _write(out / "events.csv", ["source_id", "category_kind", "category", "source",
                              "description", "address", "lon", "lat", "state",
                              *(f"{s}_at" for s in STATES), "department"], events)  # fmt: skip

    sensors, readings = [], []
    for i in range(max(1, round(pid * SENSORS_PER_RESIDENT))):
        room = homes[int(rng.integers(0, len(homes)))]
        kind = str(rng.choice(SENSOR_TYPES))
        lon, lat = jitter(room[3], room[4])
        cam = [str(int(rng.integers(30, 120))), str(int(rng.integers(40, 120))),
               str(int(rng.integers(0, 360)))] if kind == "camera" else ["", "", ""]  # fmt: skip
        sensors.append([f"S{i:06d}", kind, lon, lat, "online", "2025-06-01", *cam])
        for h in range(24):
            value = float(rng.normal(1.0, 0.3))
            readings.append([f"S{i:06d}", f"2026-11-01 {h:02d}:00:00", f"{value:.3f}",
                             "1" if value > 1.6 else "0"])  # fmt: skip
    counts["sensors"] = _write(out / "sensors.csv", ["source_id", "sensor_type", "lon", "lat",
                               "status", "installed", "camera_range_m", "camera_fov_deg",
                               "camera_heading_deg"], sensors)  # fmt: skip
    counts["readings"] = _write(
        out / "readings.csv", ["sensor_id", "ts", "value", "alert"], readings
    )
    return SampleReport(str(out), counts)
