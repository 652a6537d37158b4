"""The ``yizhi`` command line: one group per subsystem.

``yizhi registry``, ``yizhi grid``, ``yizhi layers``, ``yizhi resolve``, ``yizhi fuse``,
``yizhi serve``, ``yizhi keys``, ``yizhi audit``, ``yizhi db`` and ``yizhi demo``. Each group lives in its own module here and is
imported when the program starts; the heavy libraries a command needs are imported inside it.
Every command prints for a person by default and for a program with ``--json``; a user mistake
ends with a one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib

import typer

from yizhi.cli._common import run_app

app = typer.Typer(
    name="yizhi",
    help="一址 yizhi: unified address register, grids and data fusion for a city.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: (module, attribute) of each sub-group; a module that does not exist yet is skipped.
_GROUPS = [
    ("yizhi.cli.db", "app", "db"),
    ("yizhi.cli.data", "app", "data"),
    ("yizhi.cli.registry", "app", "registry"),
    ("yizhi.cli.resolve", "app", None),
    ("yizhi.cli.grid", "app", "grid"),
    ("yizhi.cli.layers", "app", "layers"),
    ("yizhi.cli.tiles", "app", "tiles"),
    ("yizhi.cli.fuse", "app", None),
    ("yizhi.cli.serve", "app", None),
    ("yizhi.cli.keys", "app", "keys"),
    ("yizhi.cli.keys", "audit_app", "audit"),
    ("yizhi.cli.demo", "app", None),
]

for _module, _attr, _name in _GROUPS:
    try:
        _mod = importlib.import_module(_module)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
        continue
    _sub = getattr(_mod, _attr)
    if _name:
        app.add_typer(_sub, name=_name)
    else:  # a module exposing top-level commands
        for _cmd in _sub.registered_commands:
            app.registered_commands.append(_cmd)


def main() -> None:
    """Entry point of the ``yizhi`` console script."""
    run_app(app)
