"""``yizhi data``: the shipped sample data (list the files, verify them against the manifest)."""

from __future__ import annotations

from pathlib import Path

import typer

from yizhi.cli._common import JsonOption, console, emit, err_console

app = typer.Typer(
    help="The shipped sample data: list files, verify checksums.", no_args_is_help=True
)

DataDirOption = typer.Option(
    None, "--data-dir", help="Data directory (default: $YIZHI_DATA_DIR or data/)."
)


def _data_dir(data_dir: Path | None) -> Path:
    from common.settings import get_settings

    return Path(data_dir) if data_dir is not None else Path(get_settings().data_dir)


@app.command("list")
def list_cmd(data_dir: Path | None = DataDirOption, as_json: bool = JsonOption) -> None:
    """List every shipped file with its size, origin and licence."""
    from yizhi.manifest import read_manifest

    entries = read_manifest(_data_dir(data_dir))
    if as_json:
        emit(entries, as_json=True)
        return
    rows = [
        {
            "path": e["path"],
            "bytes": f"{e['bytes']:,}",
            "source": f"{e['source']['folder']}/{e['source']['file']}",
            "licence": str(e["licence"]).split(" (")[0],
        }
        for e in entries
    ]
    emit(rows, as_json=False, title="data/ (see data/README.md)")
    total = sum(int(e["bytes"]) for e in entries)
    console.print(f"{len(entries)} files, {total:,} bytes")


@app.command("verify")
def verify_cmd(
    data_dir: Path | None = DataDirOption,
    shared: bool = typer.Option(
        False, "--shared", help="Also compare each file with its original in ../shared/data."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Check sizes and SHA-256 checksums against data/MANIFEST.json (exit 1 on any problem)."""
    from yizhi.manifest import compare_with_shared, read_manifest, verify_manifest

    directory = _data_dir(data_dir)
    problems = verify_manifest(directory)
    if shared:
        from common.settings import get_settings

        problems += compare_with_shared(directory, Path(get_settings().shared_dir) / "data")
    checked = len(read_manifest(directory))
    doc = {
        "data_dir": str(directory),
        "files": checked,
        "ok": not problems,
        "problems": [p.as_dict() for p in problems],
    }
    if as_json:
        emit(doc, as_json=True)
    elif problems:
        for p in problems:
            err_console.print(f"[red]{p.problem}[/] {p.path}: {p.detail}", soft_wrap=True)
        err_console.print(f"{len(problems)} problem(s) in {checked} files")
    else:
        console.print(f"ok: {checked} files match {directory / 'MANIFEST.json'}")
    if problems:
        raise typer.Exit(1)
