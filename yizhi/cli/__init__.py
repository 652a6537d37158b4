"""The ``yizhi`` command line: one group per subsystem.

``yizhi registry``, ``yizhi grid``, ``yizhi layers``, ``yizhi resolve``, ``yizhi fuse``,
``yizhi serve``, ``yizhi keys``, ``yizhi audit``, ``yizhi db`` and ``yizhi demo``. Each group lives in its own module here and is
imported when the program starts; the heavy libraries a command needs are imported inside it.
Every command prints for a person by default and for a program with ``--json``; a user mistake
ends with a one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import typer

from yizhi.cli import data, db, demo, fuse, grid, keys, layers, registry, resolve, serve, tiles
from yizhi.cli._common import run_app

app = typer.Typer(
    name="yizhi",
    help="一址 yizhi: unified address register, grids and data fusion for a city.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: (sub-app, group name); ``None``: a module whose commands sit at the top level.
_GROUPS: list[tuple[typer.Typer, str | None]] = [
    (db.app, "db"),
    (data.app, "data"),
    (registry.app, "registry"),
    (resolve.app, None),
    (grid.app, "grid"),
    (layers.app, "layers"),
    (tiles.app, "tiles"),
    (fuse.app, None),
    (serve.app, None),
    (keys.app, "keys"),
    (keys.audit_app, "audit"),
    (demo.app, None),
]

for _sub, _name in _GROUPS:
    if _name:
        app.add_typer(_sub, name=_name)
    else:  # a module exposing top-level commands
        app.registered_commands.extend(_sub.registered_commands)


def main() -> None:
    """Entry point of the ``yizhi`` console script."""
    run_app(app)
