"""Shared pieces of the command line: output for people and programs, errors, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from common.errors import YizhiError

T = TypeVar("T")

#: Human output goes to stderr when --json is set, so stdout holds only the JSON document.
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

JsonOption = typer.Option(False, "--json", help="Print one JSON document for programs.")


def emit(data: Any, *, as_json: bool, title: str | None = None) -> None:
    """Print ``data`` as JSON (``as_json``) or as a readable table / lines."""
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str, indent=2) + "\n")
        return
    if isinstance(data, dict) and all(not isinstance(v, dict | list) for v in data.values()):
        table = Table(title=title, show_header=False, box=None)
        for key, value in data.items():
            table.add_row(f"[bold]{key}[/]", str(value))
        console.print(table)
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        table = Table(title=title)
        for key in data[0]:
            table.add_column(str(key))
        for row in data:
            table.add_row(*(str(v) for v in row.values()))
        console.print(table)
    else:
        if title:
            console.print(f"[bold]{title}[/]")
        console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@contextmanager
def progress(quiet: bool = False) -> Iterator[Progress]:
    """A rich progress display on stderr (hidden when ``quiet`` or stderr is not a terminal)."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=False,
    )
    with bar:
        yield bar


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr."""
    with progress() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    """Run a Typer app, turning yizhi errors and bad files into one-line messages."""
    try:
        app(standalone_mode=True)
    except YizhiError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", soft_wrap=True)
        raise SystemExit(2) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        err_console.print(f"[bold red]error:[/] {exc.strerror}: {exc.filename}", soft_wrap=True)
        raise SystemExit(2) from None
