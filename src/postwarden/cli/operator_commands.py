"""Operator accounts of the web interface: `postwarden operator create|password|disable|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from postwarden.cli.app import app, context, handles_errors, stdout
from postwarden.ledger.db import make_engine
from postwarden.ledger.export import iso
from postwarden.web import accounts

operator_app = typer.Typer(help="Operator accounts of the web interface (per tenant).", no_args_is_help=True)
app.add_typer(operator_app, name="operator")

Password = Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                       envvar="POSTWARDEN_OPERATOR_PASSWORD",
                                       help="Asked for when not given.")]


@operator_app.command("create")
@handles_errors
def create(ctx: typer.Context, name: str, password: Password) -> None:
    """Create an operator who signs in to the web interface for --tenant."""
    obj = context(ctx)
    accounts.create_operator(make_engine(obj.settings.database_url), obj.tenant, name, password)
    stdout.print(f"operator {name} created for tenant {obj.tenant}", highlight=False)


@operator_app.command("password")
@handles_errors
def password(ctx: typer.Context, name: str, password: Password) -> None:
    """Set a new password (and re-enable the account); open sessions end."""
    obj = context(ctx)
    accounts.set_password(make_engine(obj.settings.database_url), obj.tenant, name, password)
    stdout.print(f"password of {name} changed; their sessions ended", highlight=False)


@operator_app.command("disable")
@handles_errors
def disable(ctx: typer.Context, name: str) -> None:
    """Stop an operator from signing in; their open sessions end at once."""
    obj = context(ctx)
    accounts.disable_operator(make_engine(obj.settings.database_url), obj.tenant, name)
    stdout.print(f"operator {name} disabled", highlight=False)


@operator_app.command("list")
@handles_errors
def list_operators(ctx: typer.Context) -> None:
    """The tenant's operators."""
    obj = context(ctx)
    table = Table("name", "created", "last sign-in", "disabled")
    engine = make_engine(obj.settings.database_url)
    for name, created, last, disabled in accounts.operators(engine, obj.tenant):
        table.add_row(name, iso(created), iso(last) or "never", iso(disabled) or "")
    stdout.print(table)
