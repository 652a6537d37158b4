"""``yizhi layers``: ingest people, legal persons, houses, events and sensors; move events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from common.errors import InvalidInput
from yizhi.cli._common import JsonOption, emit, progress

app = typer.Typer(
    help="Governance layers: ingest, validate, quarantine; the event loop.", no_args_is_help=True
)

DbOption = typer.Option(
    None, "--db", help="Database file (default: $YIZHI_DB or var/yizhi.duckdb)."
)
_STEPS = ("hash", "read", "convert", "validate", "load", "quarantine")


def _bounds(text: str | None) -> tuple[float, float, float, float] | str | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) == 4:
        try:
            a, b, c, d = (float(p) for p in parts)
        except ValueError as exc:
            raise InvalidInput(
                f"--bounds takes minlon,minlat,maxlon,maxlat or WKT, got {text!r}"
            ) from exc
        return (a, b, c, d)
    return text  # a WKT polygon


@app.command("ingest")
def ingest_cmd(
    kind: str = typer.Argument(
        ..., help="people | legal_persons | houses | events | sensors | readings"
    ),
    file: Path = typer.Argument(
        ..., help="A .csv, .parquet, .geojson or .gpkg file.", exists=True, dir_okay=False
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="Column mapping (.json/.toml/.yaml).",
        exists=True,
        dir_okay=False,
    ),
    crs: str | None = typer.Option(
        None, "--crs", help="wgs84 | cgcs2000 | gcj02 | bd09 (default wgs84)."
    ),
    bounds: str | None = typer.Option(
        None,
        "--bounds",
        help="City area: minlon,minlat,maxlon,maxlat or WKT (default: register districts, else the sample box).",
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Without YIZHI_HMAC_SECRET, use (or create) var/hmac.key."
    ),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Ingest FILE as a layer of KIND: bad rows go to quarantine with every reason."""
    import store
    from layers.ingest import ingest
    from layers.privacy import load_secret

    secret = load_secret(demo=demo)  # refuse before touching the store
    con = store.connect(db)
    try:
        with progress(quiet=as_json) as bar:
            task = bar.add_task(f"{kind} ← {file.name}", total=len(_STEPS))

            def step(name: str) -> None:
                bar.update(task, completed=_STEPS.index(name), description=f"{kind}: {name}")

            report = ingest(
                con, kind, file, mapping=mapping, crs=crs, bounds=_bounds(bounds),
                secret=secret, step=step,
            )  # fmt: skip
            bar.update(task, completed=len(_STEPS), description=f"{kind}: done")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    data = report.to_dict()
    if as_json:
        emit(data, as_json=True)
        return
    reasons = data.pop("reasons")
    emit(data, as_json=False, title=f"ingest {kind}")
    if reasons:
        emit(
            [{"reason": k, "rows": n} for k, n in reasons.items()],
            as_json=False,
            title="quarantined",
        )


@app.command("categories")
def categories_cmd(db: Path | None = DbOption, as_json: bool = JsonOption) -> None:
    """List the event categories (部件/事件 classes) with their SLA hours."""
    import store
    from layers.queries import event_categories

    con = store.connect(db)
    try:
        rows = event_categories(con)
    finally:
        con.close()
    emit(rows, as_json=as_json, title="event categories")


@app.command("transition")
def transition_cmd(
    event_id: str = typer.Argument(..., help="The event's source ID."),
    state: str = typer.Argument(..., help="registered | dispatched | handled | verified | closed"),
    department: str | None = typer.Option(None, "--department", help="Handling department."),
    at: str | None = typer.Option(None, "--at", help="When (ISO time; default now, UTC)."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Move an event one step along report → register → dispatch → handle → verify → close."""
    import store
    from layers.events import transition

    when = None
    if at is not None:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError as exc:
            raise InvalidInput(f"--at must be an ISO time, got {at!r}") from exc
    con = store.connect(db)
    try:
        previous = transition(con, event_id, state, at=when, department=department)
    finally:
        con.close()
    emit({"event": event_id, "from": previous, "to": state}, as_json=as_json, title="transition")


@app.command("sample")
def sample_cmd(
    out_dir: Path = typer.Argument(..., help="Directory for the CSV files."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (default: settings.seed)."),
    bad_rate: float = typer.Option(0.01, "--bad-rate", help="Share of deliberately bad rows."),
    db: Path | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Generate sample layer files (people, legal persons, ...) from the register's rooms."""
    import store
    from common.settings import get_settings
    from layers.demo_data import sample_layers

    con = store.connect(db, read_only=True)
    try:
        report = sample_layers(
            con, out_dir, seed=get_settings().seed if seed is None else seed, bad_rate=bad_rate
        )
    finally:
        con.close()
    emit({"directory": report.directory, **report.rows}, as_json=as_json, title="sample layers")
