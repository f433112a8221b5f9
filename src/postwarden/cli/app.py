"""The Typer application and the global options every command shares."""

from __future__ import annotations

import functools
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from postwarden import settings as settings_mod
from postwarden.errors import PostwardenError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="postwarden",
    help="Self-hosted deliverability: bounces, complaints, unsubscribes and the suppression ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Tables printed into a pipe or file keep their columns instead of folding at 80.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
stdout = Console(width=None if sys.stdout.isatty() else 160)


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


# Command groups that several modules add to.
import_app = typer.Typer(help="Bulk import: suppression exports of other platforms, old bounce mailboxes.",
                         no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (accounts).", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(audit_app, name="audit")
app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn postwarden's errors into a one-line message and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PostwardenError as exc:
            problems = exc.details.get("problems")
            if isinstance(problems, list):
                for item in problems[:50]:
                    console.print(f"  line {item['line']}: {item['problem']}", highlight=False)
            raise fail(exc.message) from None

    return wrapper


def operator_actor() -> str:
    return f"operator:{getpass.getuser()}"
