"""Provider webhooks: store a tenant's secret for a provider and print the URL to give
that provider."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from postwarden.cli.app import app, console, context, handles_errors, stdout
from postwarden.intake import webhooks
from postwarden.intake.webhooks import store
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine

webhook_app = typer.Typer(help="Provider webhooks (Amazon SES via SNS, SendGrid, Mailgun, Postmark).",
                          no_args_is_help=True)
secret_app = typer.Typer(help="The secret each provider authenticates with.", no_args_is_help=True)
webhook_app.add_typer(secret_app, name="secret")
app.add_typer(webhook_app, name="webhook")

Provider = Annotated[str, typer.Option(help="ses, sendgrid, mailgun or postmark.")]


def _ledger(ctx: typer.Context) -> Ledger:
    obj = context(ctx)
    return Ledger(make_engine(obj.settings.database_url), obj.tenant, obj.settings)


@secret_app.command("set")
@handles_errors
def secret_set(
    ctx: typer.Context,
    provider: Provider,
    value: Annotated[str | None, typer.Option(help="The secret; leave it out for ses and postmark to "
                                                   "have random basic-auth credentials made.")] = None,
) -> None:
    """Store the tenant's secret for a provider (replacing any earlier one)."""
    ledger = _ledger(ctx)
    spec = webhooks.get(provider)
    stored = store.set_secret(ledger.engine, ledger.tenant_id, spec.name, value)
    console.print(f"{spec.name} webhook secret stored for tenant {ledger.tenant_name} ({spec.secret_kind})")
    if spec.secret_kind == "basic":
        typer.echo(webhooks.endpoint_url(str(ledger.settings.public_url), spec, ledger.tenant_name, stored))


@webhook_app.command("url")
@handles_errors
def url(ctx: typer.Context, provider: Provider) -> None:
    """Print the URL to configure at the provider (with the credentials, for basic auth)."""
    ledger = _ledger(ctx)
    spec = webhooks.get(provider)
    secret = store.secret_for(ledger.engine, ledger.tenant_id, spec.name)
    if secret is None:
        console.print(f"note: no {spec.name} secret is set yet, so requests will get 401: run "
                      f"`postwarden --tenant {ledger.tenant_name} webhook secret set --provider {spec.name}` "
                      f"({spec.secret_help})", highlight=False)
    typer.echo(webhooks.endpoint_url(str(ledger.settings.public_url), spec, ledger.tenant_name, secret))


@webhook_app.command("providers")
@handles_errors
def providers_command() -> None:
    """The providers postwarden reads webhooks from, and the secret each needs."""
    table = Table("provider", "authentication", "secret to store", "what it is")
    for spec in sorted(webhooks.providers().values(), key=lambda p: p.name):
        table.add_row(spec.name, spec.description, spec.secret_kind, spec.secret_help)
    stdout.print(table)
