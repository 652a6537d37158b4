"""Top-level ``yizhi normalize``, ``yizhi parse`` and ``yizhi resolve`` commands.

``normalize`` and ``parse`` need no store; ``resolve`` opens the store (``--db``, default
``$YIZHI_DB``). ``yizhi resolve TARGET`` resolves one address, or, when TARGET is a file (an
existing path or a name ending in .csv/.tsv/.parquet), every row of its ``--column``. Each prints for people or, with ``--json``, one JSON document; a bad address is
one line on stderr (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, emit, output_path

app = typer.Typer(help="Address normalisation, parsing and resolution.")

DbOption = typer.Option(None, "--db", help="Database file (default: $YIZHI_DB).")


@app.command("normalize")
def normalize_cmd(
    address: str = typer.Argument(..., help="Free-text address."),
    as_json: bool = JsonOption,
) -> None:
    """Print the canonical spelling of an address (三号楼 → 3栋, 十二楼 → 12层)."""
    from address_registry.normalize import normalize

    emit({"query": address, "normalized": normalize(address)}, as_json=as_json)


@app.command("parse")
def parse_cmd(
    address: str = typer.Argument(..., help="Free-text address."),
    as_json: bool = JsonOption,
) -> None:
    """Print the components of an address (province ... room) and its labelled spans."""
    from address_registry.parse import parse

    parsed = parse(address).to_dict()
    if as_json:
        emit(parsed, as_json=True)
        return
    emit({k: v for k, v in parsed.items() if v and k != "spans"}, as_json=False, title="parse")


_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def _is_file(target: str) -> bool:
    """A path to a table (it exists, or it is named like one) rather than a query."""
    if len(target) > 1000 or "\n" in target:
        return False
    path = Path(target)
    return path.is_file() or path.suffix.lower() in _FILE_SUFFIXES


@app.command("resolve")
def resolve_cmd(
    target: str = typer.Argument(
        ..., help="An address, or a CSV/Parquet file of addresses (batch mode)."
    ),
    column: str = typer.Option("address", "--column", help="Batch: the column of addresses."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Batch: output file (.csv or .parquet; default: CSV on stdout).",
        callback=output_path,
    ),
    limit: int = typer.Option(5, "--limit", help="Most candidates to return (1-100)."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Resolve an address to buildings/rooms of the register, best first, with a confidence.

    When TARGET is a file (an existing path, or a name ending in .csv/.tsv/.parquet) every row of
    its COLUMN is resolved and the rows are written back with building_id, room_id, confidence,
    level and reason (why a row did not resolve); no row is dropped.
    """
    import store

    if _is_file(target):
        _resolve_file(Path(target), column, out, db, as_json)
        return
    from address_registry.resolve import resolve

    con = store.connect(db, read_only=True)
    try:
        answer = resolve(con, target, limit=limit)
    finally:
        con.close()
    if as_json:
        emit(answer, as_json=True)
        return
    emit(
        {k: answer[k] for k in ("query", "normalized", "ambiguous")},
        as_json=False,
        title="resolve",
    )
    rows = [
        {k: c[k] for k in ("confidence", "level", "building_id", "room_id", "address")}
        for c in answer["candidates"]
    ]
    if rows:
        emit(rows, as_json=False)


def _resolve_file(
    path: Path, column: str, out: Path | None, db: Path | None, as_json: bool
) -> None:
    import sys

    import store
    from address_registry.files import read_table, resolve_frame, write_table
    from common.errors import NotFound
    from yizhi.cli._common import progress

    if not path.is_file():
        raise NotFound(f"no file {str(path)!r}")
    frame = read_table(path)
    con = store.connect(db, read_only=True)
    try:
        with progress(quiet=as_json and out is None) as bar:
            task = bar.add_task(f"resolving {path.name}", total=len(frame))
            result, counts = resolve_frame(
                con, frame, column, on_progress=lambda n: bar.advance(task, n)
            )
    finally:
        con.close()
    if out is not None:
        write_table(result, out)
    elif not as_json:
        result.to_csv(sys.stdout, index=False)
        return
    summary = {"rows": len(result), "reasons": counts, "out": str(out) if out else None}
    if as_json and out is None:
        summary["results"] = result.astype(object).where(result.notna(), None).to_dict("records")
    emit(summary, as_json=as_json, title="resolve")
