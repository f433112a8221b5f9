"""``postwarden inbound`` (the SMTP proxy in front of the mailbox store) and
``postwarden mailbox ...``: the webmail API's clicks, rules and consent on the command
line, against the tenant's filter in the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from postwarden.cli.app import app, console, context, fail, handles_errors
from postwarden.ledger.db import make_engine

if TYPE_CHECKING:
    from postwarden.mailbox.service import Mailbox

# The service and the SMTP server are imported when a command runs: every postwarden
# command loads this module, and most never need them.

mailbox_app = typer.Typer(help="Users' mailboxes: classify, spam and not-spam clicks, sender rules, consent.",
                          no_args_is_help=True)
app.add_typer(mailbox_app, name="mailbox")

User = Annotated[str, typer.Option("--user", help="The user's address.")]


def _mailbox(ctx: typer.Context) -> Mailbox:
    from postwarden.mailbox.service import Mailbox

    obj = context(ctx)
    return Mailbox(make_engine(obj.settings.database_url), obj.tenant, obj.settings)


def _read(file: Path) -> bytes:
    try:
        return sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc


def _echo(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


@app.command("inbound")
@handles_errors
def inbound_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address (default: inbound_host).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: inbound_port).")] = None,
    deliver: Annotated[str | None, typer.Option(help="maildir:PATH or smtp:HOST:PORT "
                                                     "(default: inbound_deliver).")] = None,
) -> None:
    """The SMTP proxy: authenticate, classify per recipient, add Authentication-Results and
    X-Spam-* fields, and store in the inbox or spam folder (or refuse)."""
    from postwarden.mailbox import inbound

    obj = context(ctx)
    settings = obj.settings.with_overrides(inbound_deliver=deliver, inbound_tenant=obj.tenant)
    engine = make_engine(settings.database_url)

    async def run() -> None:
        server = await inbound.start_server(engine, settings, host=host, port=port)
        console.print(f"postwarden inbound listening on {host or settings.inbound_host}:"
                      f"{port or settings.inbound_port}, delivering to {settings.inbound_deliver}")
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


@mailbox_app.command("classify")
@handles_errors
def classify_command(ctx: typer.Context, file: Path, user: User,
                     as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Where a message goes for a user, and why ('-' reads standard input)."""
    found = _mailbox(ctx).classify(_read(file), user)
    if as_json:
        _echo(found.to_json())
    else:
        typer.echo(found.verdict.explain())
        typer.echo("authentication: " + "; ".join(r.render() for r in found.auth.results))


@mailbox_app.command("report-spam")
@handles_errors
def report_spam_command(
    ctx: typer.Context, file: Path, user: User,
    share: Annotated[bool | None, typer.Option("--share/--no-share", help="The user's answer to sharing "
                                                                          "the message.")] = None,
    unsubscribe: Annotated[bool, typer.Option(help="Unsubscribe from a trusted sender's mailing.")] = False,
) -> None:
    """The spam click."""
    _echo(_mailbox(ctx).report_spam(_read(file), user, share=share, unsubscribe=unsubscribe).to_json())


@mailbox_app.command("report-not-spam")
@handles_errors
def report_not_spam_command(ctx: typer.Context, file: Path, user: User) -> None:
    """The not-spam click (undoes an earlier spam click on the same message)."""
    _echo(_mailbox(ctx).report_not_spam(_read(file), user).to_json())


@mailbox_app.command("rule")
@handles_errors
def rule_command(
    ctx: typer.Context, user: User,
    kind: Annotated[str | None, typer.Argument(help="block, trust or correspondent.")] = None,
    match: Annotated[str | None, typer.Argument(help="address, domain or ip.")] = None,
    value: Annotated[str | None, typer.Argument()] = None,
    reject: Annotated[bool, typer.Option(help="A block rule that refuses the mail.")] = False,
    remove: Annotated[bool, typer.Option(help="Remove the rule instead.")] = False,
) -> None:
    """Add or remove a sender rule; without arguments, list the user's rules."""
    box = _mailbox(ctx)
    if kind is None:
        _echo({"rules": [{"kind": r.kind, "match": r.match, "value": r.value, "action": r.action.value}
                         for r in box.rules(user)]})
        return
    if match is None or value is None:
        raise fail("give KIND MATCH VALUE, e.g. 'block domain example.net'")
    if remove:
        _echo({"removed": box.remove_rule(user, kind, match, value)})
        return
    rule = box.add_rule(user, kind, match, value, "reject" if reject else None)
    _echo({"kind": rule.kind, "match": rule.match, "value": rule.value, "action": rule.action.value})


@mailbox_app.command("consent")
@handles_errors
def consent_command(ctx: typer.Context, user: User,
                    share: Annotated[bool, typer.Option("--share/--no-share")]) -> None:
    """Record whether the user agrees to share reported messages."""
    _echo({"mailbox": user, "share": _mailbox(ctx).set_consent(user, share)})


@mailbox_app.command("feedback-address")
@handles_errors
def feedback_address_command(ctx: typer.Context, domain: str, address: str) -> None:
    """Register where complaint reports about mail from DOMAIN go."""
    _mailbox(ctx).db.set_feedback_address(domain, address)
    _echo({"domain": domain, "address": address})
