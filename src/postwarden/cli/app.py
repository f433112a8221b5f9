"""The Typer application and the global options every command shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console

from postwarden import settings as settings_mod

app = typer.Typer(
    name="postwarden",
    help="Self-hosted deliverability: bounces, complaints, unsubscribes and the suppression ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(stderr=True)


@dataclass
class Context:
    tenant: str
    settings: settings_mod.Settings


@app.callback()
def _global_options(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant (account) to act for.")] = "default",
    database: Annotated[
        str | None, typer.Option(help="Database URL (default: POSTWARDEN_DATABASE_URL or ./postwarden.db).")
    ] = None,
) -> None:
    ctx.obj = Context(tenant=tenant, settings=settings_mod.load(database_url=database))


def context(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error and return the Exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)
