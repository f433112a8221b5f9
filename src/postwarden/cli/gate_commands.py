"""The contact card and the relay on the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from postwarden.cli.app import app, context, handles_errors, stdout
from postwarden.gate.contact import contact_card
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine


@app.command()
@handles_errors
def contact(
    ctx: typer.Context,
    address: str,
    as_json: Annotated[bool, typer.Option("--json", help="The whole card as JSON.")] = False,
) -> None:
    """Everything about one address: may we send, why not, messages, feedback, audit trail."""
    obj = context(ctx)
    card = contact_card(Ledger(make_engine(obj.settings.database_url), obj.tenant, obj.settings), address)
    if as_json:
        typer.echo(json.dumps(card, indent=2))
        return
    stdout.print(f"[bold]{card['address']}[/]")
    for scope, status in card["status"].items():
        if status["verdict"] == "allowed":
            stdout.print(f"  scope {scope}: [green]allowed[/]")
            continue
        reason = status["reason"] or "no bounce reason"
        stdout.print(f"  scope {scope}: [red]suppressed[/] — {status['reason_class']} ({reason}) since "
                     f"{status['since']}; {status['lift_explanation']}", highlight=False)
    messages = Table("sent", "message-id", "subject", "stream", "scope", "status", "code", "detail",
                     title="messages")
    for m in card["messages"]:
        messages.add_row(m["sent_at"], m["message_id"], m["subject"][:60], m["stream"], m["scope"],
                         m["status"], m["status_code"] or "", (m["status_detail"] or "")[:60])
    stdout.print(messages)
    events = Table("at", "kind", "reason", "effect", "code", "diagnostic", "evidence", title="feedback")
    for e in card["events"]:
        events.add_row(e["at"], e["kind"], e["reason"] or e["feedback_type"] or "", e["effect"],
                       " ".join(x for x in (e["reply_code"], e["status"]) if x),
                       (e["diagnostic"] or "")[:80], e["evidence"] or "")
    stdout.print(events)
    audit = Table("#", "at", "actor", "action", "scope", "class", "note", title="audit trail")
    for a in card["audit"]:
        audit.add_row(str(a["seq"]), a["at"], a["actor"], a["action"], a["scope"], a["reason_class"] or "",
                      a["note"])
    stdout.print(audit)


@app.command()
@handles_errors
def relay(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    upstream: Annotated[str | None, typer.Option(help="The MTA to hand mail to, host:port.")] = None,
) -> None:
    """Run the SMTP relay: refuses suppressed recipients at RCPT, signs, hands on to the upstream."""
    from postwarden.gate.relay import run

    run(context(ctx).settings.with_overrides(relay_host=host, relay_port=port, relay_upstream=upstream))
