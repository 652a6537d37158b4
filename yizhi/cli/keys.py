"""``yizhi keys`` and ``yizhi audit``: API keys with scopes, and the audit log of person reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from common.errors import InvalidInput
from yizhi.cli._common import JsonOption, console, emit

if TYPE_CHECKING:
    from api.auth import KeyStore

app = typer.Typer(help="API keys: create, list and revoke (scopes: public … admin).")
audit_app = typer.Typer(help="The audit log of person-level reads: show and verify.")


def _keys() -> KeyStore:
    from api.auth import KeyStore
    from common.settings import get_settings

    return KeyStore(get_settings().api_keys)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Who or what uses the key (shown in the audit log)."),
    scope: list[str] = typer.Option(
        ["public"], "--scope", "-s", help="A scope: public, analyst, planner, officer, admin."
    ),
    rate: float = typer.Option(None, help="Requests a second (default: YIZHI_RATE_LIMIT)."),
    burst: int = typer.Option(None, help="Burst size (default: YIZHI_RATE_BURST)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a key; its secret is printed once and only its hash is kept."""
    new = _keys().create(name, scope, rate=rate, burst=burst)
    doc = {"key_id": new.key_id, "name": new.name, "scopes": new.scopes, "secret": new.secret}
    if as_json:
        emit(doc, as_json=True)
        return
    console.print(f"created key [bold]{new.key_id}[/] for {new.name} with {', '.join(new.scopes)}")
    console.print(f"secret (shown once; send it as X-API-Key): [bold]{new.secret}[/]")


@app.command("list")
def list_keys(as_json: bool = JsonOption) -> None:
    """List the keys (never their secrets)."""
    rows = _keys().list()
    for row in rows:
        row["scopes"] = ",".join(row["scopes"])
    emit(rows if rows or as_json else "no API keys yet", as_json=as_json, title="API keys")


@app.command("revoke")
def revoke(
    key_id: str = typer.Argument(..., help="The key id (k_…)."), as_json: bool = JsonOption
) -> None:
    """Revoke a key: the server refuses it from its next request."""
    _keys().revoke(key_id)
    emit({"revoked": key_id}, as_json=as_json)


@audit_app.command("show")
def show(
    last: int = typer.Option(20, help="How many of the latest entries."),
    as_json: bool = JsonOption,
) -> None:
    """The latest reads of person-level data."""
    from api.audit import AuditLog
    from common.settings import get_settings

    if last < 1:
        raise InvalidInput(f"--last must be at least 1, got {last}")
    entries = list(AuditLog(get_settings().audit_log).entries())[-last:]
    rows = [
        {
            "at": e["at"],
            "key": f"{e['key_name']} ({e['key_id']})",
            "client": e["client"],
            "action": e["action"],
            "records": e["records"],
        }
        for e in entries
    ]
    emit(rows if rows or as_json else "the audit log is empty", as_json=as_json, title="audit")


@audit_app.command("verify")
def verify(as_json: bool = JsonOption) -> None:
    """Check the hash chain of the audit log (fails on an edited or removed line)."""
    from api.audit import AuditLog
    from common.settings import get_settings

    log = AuditLog(get_settings().audit_log)
    emit({"entries": log.verify(), "path": str(log.path), "chain": "intact"}, as_json=as_json)
