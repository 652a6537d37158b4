"""Shared pieces of the command line: output for people and programs, errors, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
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
from typer._click.exceptions import ClickException, NoArgsIsHelpError

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
        disable=quiet or not err_console.is_terminal,
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


def fail(message: str, code: int = 2) -> SystemExit:
    """Print a one-line error and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return SystemExit(code)


def output_path(path: Path | None) -> Path | None:
    """A parameter callback for a file the command will write: its folder must exist and the
    path must not be a folder, checked before any work starts (a usage error otherwise)."""
    if path is None:
        return None
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise typer.BadParameter(f"cannot write {path}: {folder} is not a folder")
    if path.is_dir():
        raise typer.BadParameter(f"cannot write {path}: it is a folder")
    return path


def run_app(app: typer.Typer, args: list[str] | None = None) -> None:
    """Run a Typer app as the ``yizhi`` program; every mistake ends in one line and exit 2.

    A usage error (an unknown option, a value of the wrong type or out of range, a missing
    argument), a yizhi error (:class:`~common.errors.YizhiError`) and a file that cannot be read
    each print ``error: <what>`` on stderr and exit with 2, never a traceback; ``yizhi`` alone,
    or a group alone, prints its help (exit 0); Ctrl-C exits with 130.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="yizhi", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a bare group: its help is what was asked for
        sys.stdout.write(exc.format_message() + "\n")
        code = 0
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        raise fail(" ".join(exc.format_message().split()) + where) from None
    except YizhiError as exc:
        raise fail(exc.message) from None
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        raise fail(f"{exc.strerror}: {exc.filename}") from None
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("aborted")
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)
