"""The command line keeps its promise: a mistake ends in one line and exit 2.

Every command of ``yizhi`` is run with a bad value in each of its parameters (a word where a
number goes, a number far out of range, a file that cannot exist, an unknown name) and with its
required arguments missing. Each run must end with exactly one line on stderr starting
``error:``, exit status 2, no traceback, and within a few seconds (no hang, no work started on a
bad input). The commands are read from the program itself, so a new command or option is
covered the day it lands; a text option that accepts any words must be named in
:data:`FREE_TEXT`, every other text option is a name, a code or a date that ``nonsense`` is not.
"""

from __future__ import annotations

import contextlib
import io
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main

from common.settings import get_settings
from yizhi.cli import app
from yizhi.cli._common import run_app

#: Text parameters where any words are a valid value (an address, a note, a name).
FREE_TEXT = {
    ("normalize", "address"),
    ("parse", "address"),
    ("resolve", "target"),
    ("keys create", "name"),
}
#: Text parameters named like these are free text in every command.
FREE_TEXT_NAMES = {"note", "actor"}
#: Seconds a bad call may take before it counts as a hang.
TIMEOUT = 20


@dataclass(frozen=True)
class Case:
    command: tuple[str, ...]
    args: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return f"yizhi {' '.join(self.command)} {' '.join(self.args)}  ({self.why})"


def _walk(cmd: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    subs = getattr(cmd, "commands", None)
    if subs:
        for name, sub in sorted(subs.items()):
            yield from _walk(sub, (*path, name))
    else:
        yield path, cmd


def _kind(param: Any) -> str:
    ann = param.type_descriptor.annotation
    name = getattr(ann, "__name__", str(ann))
    if name == "list":
        args = getattr(ann, "__args__", ())
        name = getattr(args[0], "__name__", "str") if args else "str"
    return name


def _placeholder(param: Any, bad_file: str) -> str:
    """A value for a required argument that is not the one under test."""
    return {"int": "1", "float": "1.0", "Path": bad_file}.get(_kind(param), "x")


def _cases(bad_file: str) -> list[Case]:
    root = typer.main.get_command(app)
    cases: list[Case] = []
    for path, cmd in _walk(root):
        params = list(cmd.params)
        required = [p for p in params if p.required and not p.opts[0].startswith("-")]
        if required:
            cases.append(Case(path, (), "required arguments missing"))
        for param in params:
            kind = _kind(param)
            if kind == "bool":
                continue
            key = " ".join(path), str(param.name)
            if kind == "str" and (key in FREE_TEXT or param.name in FREE_TEXT_NAMES):
                continue
            bad = {
                "int": [("abc", "a word for a number"), ("-999999999999", "out of range")],
                "float": [("abc", "a word for a number"), ("-1e12", "out of range")],
                "Path": [(bad_file, "a file that cannot exist")],
            }.get(kind, [("nonsense", "an unknown name")])
            for value, why in bad:
                args: list[str] = []
                for other in required:
                    args.append(value if other is param else _placeholder(other, bad_file))
                if param not in required:
                    args += [param.opts[0], value]
                cases.append(Case(path, tuple(args), f"{param.name}: {why}"))
    return cases


class _Hang(Exception):
    pass


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def alarm(signum: int, frame: Any) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(TIMEOUT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run_app(app, args)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            else:
                code = 0
    except _Hang:
        code = -1
    except Exception as exc:  # a traceback: the promise is broken
        code = -2
        err.write(f"traceback: {type(exc).__name__}: {exc}\n")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings that point every store and file of a command into ``tmp_path``; yields a path
    that no command can create (it lies under a regular file)."""
    monkeypatch.setenv("YIZHI_DB", str(tmp_path / "store.duckdb"))
    monkeypatch.setenv("YIZHI_API_KEYS", str(tmp_path / "keys.json"))
    monkeypatch.setenv("YIZHI_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("YIZHI_HMAC_SECRET", "cli-promise-test-secret-of-32-bytes!")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    (tmp_path / "a-file").write_text("not a directory\n")
    yield str(tmp_path / "a-file" / "nowhere" / "x.gpkg")
    get_settings.cache_clear()


def test_every_mistake_is_one_line_and_exit_2(sandbox: str) -> None:
    cases = _cases(sandbox)
    assert len(cases) > 100  # the program was read, not an empty list
    broken = []
    for case in cases:
        code, _, err = _run([*case.command, *case.args])
        lines = [line for line in err.splitlines() if line.strip()]
        ok = code == 2 and len(lines) == 1 and lines[0].startswith("error:")
        if not ok:
            shown = {-1: "HANG", -2: "TRACEBACK"}.get(code, f"exit {code}")
            broken.append(f"{case}: {shown}, stderr {lines[:3]}{' …' if len(lines) > 3 else ''}")
    assert not broken, f"{len(broken)} of {len(cases)} mistakes broke the promise:\n" + "\n".join(
        broken
    )


def test_help_is_not_an_error(sandbox: str) -> None:
    for args in ([], ["grid"], ["--help"], ["registry", "--help"]):
        code, out, err = _run(args)
        assert code == 0 and "Usage" in out and not err.strip(), args
