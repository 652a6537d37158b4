"""``yizhi registry``: build the unified address and building register.

Commands live in small functions; the heavy imports happen inside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from yizhi.cli._common import JsonOption, emit, progress

app = typer.Typer(help="The unified address and building register (一标).", no_args_is_help=True)


@app.command("build")
def build_cmd(
    db: Path | None = typer.Option(None, "--db", help="Database file (default: $YIZHI_DB)."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Sample city directory (default: data/)."
    ),
    boundaries: Path | None = typer.Option(
        None,
        "--boundaries",
        help="Official boundaries file to import.",
        exists=True,
        dir_okay=False,
    ),
    code_column: str | None = typer.Option(
        None, "--code-column", help="Column of the boundary file with the code (default: code)."
    ),
    level: str = typer.Option(
        "community", "--level", help="Level of the boundaries: district/street/community."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Build (or rebuild) the register from the sample city or a city's files."""
    if boundaries is None and (code_column is not None or level != "community"):
        raise typer.BadParameter("--code-column and --level describe a --boundaries file")
    import store
    from address_registry.build import STAGES, build_registry

    con = store.connect(db)
    try:
        with progress(quiet=as_json) as bar:
            task = bar.add_task("registry build", total=len(STAGES))

            def step(stage: str) -> None:
                bar.update(
                    task, description=f"registry build: {stage}", completed=STAGES.index(stage)
                )

            report = build_registry(
                con,
                data_dir=data_dir,
                boundaries=boundaries,
                code_column=code_column or "code",
                level=level,
                progress=step,
            )
            bar.update(task, description="registry build: done", completed=len(STAGES))
    finally:
        con.close()
    if as_json:
        emit(report, as_json=True)
    else:
        emit(_summary(report), as_json=False, title="registry build")
        emit(
            [{"layer": k, **v} for k, v in report["layers"].items()], as_json=False, title="layers"
        )


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "build_id": report["build_id"],
        "buildings": report["buildings"]["registered"],
        "new IDs": report["buildings"]["new_ids"],
        "rooms": report["rooms"],
        "roads": report["roads"],
        "doorplates (real/derived)": f"{report['doorplates']['real']}/{report['doorplates']['derived']}",
        "estates": report["estates"],
    }


try:  # the lifecycle commands (export / show / history) of the same group
    from yizhi.cli._registry_lifecycle import register as _register_lifecycle
except ImportError:  # pragma: no cover - optional while being written
    pass
else:
    _register_lifecycle(app)
