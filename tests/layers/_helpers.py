"""Helpers of the layer tests: valid ID numbers and people rows."""

from __future__ import annotations

from address_registry.ids import mod11_2

SECRET = b"test-secret-do-not-use"


def make_id(region: str = "310101", birth: str = "19800101", seq: int = 123) -> str:
    """A valid resident ID number (the sequence's last digit odd = male)."""
    body = f"{region}{birth}{seq:03d}"
    return body + mod11_2(body)


PEOPLE_HEADER = (
    "source_id", "id_number", "name", "sex", "birth_date", "hukou_type", "address", "room_id", "phone",
)  # fmt: skip


def people_rows(n: int, start: int = 0) -> list[list[str]]:
    """``n`` valid people rows."""
    rows = []
    for i in range(start, start + n):
        seq = 100 + i % 900
        birth = f"19{50 + i % 50:02d}0{1 + i % 9}1{i % 10}"
        rows.append(
            [
                f"P{i:05d}",
                make_id("310101", birth, seq),
                "张小明",
                "男" if seq % 2 else "女",
                f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
                "registered",
                f"外滩路{i + 1}号",
                "",
                f"138{i:08d}",
            ]
        )
    return rows
