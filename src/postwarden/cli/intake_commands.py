"""Intake commands: VERP and unsubscribe headers for senders, the worker, the queue of
unrecognised feedback, reprocessing, and importing an old bounce mailbox."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from postwarden import tokens
from postwarden.cli.app import app, console, context, fail, handles_errors, import_app, stdout
from postwarden.intake import spool
from postwarden.intake.mailfiles import MailFileError, iter_messages
from postwarden.intake.worker import IntakeWorker
from postwarden.ledger import Ledger
from postwarden.ledger.db import make_engine, require_schema
from postwarden.ledger.secrets import token_key
from postwarden.ledger.tenants import tenant_name
from postwarden.tokens import BOUNCE_LOCAL, BadToken, verp_decode, verp_encode

verp_app = typer.Typer(help="VERP return paths for senders that send elsewhere.", no_args_is_help=True)
app.add_typer(verp_app, name="verp")


def _setup(ctx: typer.Context) -> tuple[Ledger, bytes]:
    obj = context(ctx)
    engine = make_engine(obj.settings.database_url)
    ledger = Ledger(engine, obj.tenant, obj.settings)
    return ledger, token_key(engine, obj.settings)


@verp_app.command("encode")
@handles_errors
def verp_encode_command(
    ctx: typer.Context,
    recipient: Annotated[str, typer.Option(help="The recipient of the message.")],
    message_id: Annotated[str | None, typer.Option(help="The message's Message-ID.")] = None,
) -> None:
    """Print the return path (envelope sender) to use for one message to one recipient."""
    ledger, key = _setup(ctx)
    typer.echo(verp_encode(key, ledger.tenant_id, recipient, message_id, local=BOUNCE_LOCAL,
                           domain=str(ledger.settings.intake_domain)))


@verp_app.command("decode")
@handles_errors
def verp_decode_command(ctx: typer.Context, address: str) -> None:
    """Show what a VERP return path names; exit 1 if its signature does not match."""
    ledger, key = _setup(ctx)
    try:
        ref = verp_decode(key, address, local=BOUNCE_LOCAL)
    except BadToken as exc:
        raise fail(exc.message) from None
    typer.echo(json.dumps({"tenant": tenant_name(ledger.engine, ref.tenant_id), "recipient": ref.recipient,
                           "message_ref": ref.message_ref}))


@app.command("unsubscribe-headers")
@handles_errors
def print_unsubscribe_headers(
    ctx: typer.Context,
    recipient: Annotated[str, typer.Option(help="The recipient of the message.")],
    scope: Annotated[str, typer.Option(help="The topic to unsubscribe from, or '*' for all mail.")] = "*",
) -> None:
    """Print List-Unsubscribe and List-Unsubscribe-Post headers (RFC 2369, RFC 8058)."""
    ledger, key = _setup(ctx)
    headers = tokens.unsubscribe_headers(key, ledger.tenant_id, recipient, ledger.valid_scope(scope),
                                         public_url=str(ledger.settings.public_url),
                                         intake_domain=str(ledger.settings.intake_domain))
    for name, value in headers.as_dict().items():
        typer.echo(f"{name}: {value}")


@app.command()
@handles_errors
def worker(ctx: typer.Context,
           once: Annotated[bool, typer.Option(help="Process what is waiting, then stop.")] = False) -> None:
    """Process the intake spool (as many workers as you like may share one PostgreSQL)."""
    settings = context(ctx).settings
    engine = make_engine(settings.database_url)
    require_schema(engine)
    intake = IntakeWorker(engine, settings)
    if once:
        total = 0
        while (taken := intake.run_once()) > 0:
            total += taken
        console.print(f"processed {total} spool entries")
        return
    console.print("intake worker running; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        intake.run_forever(threading.Event())


@app.command()
@handles_errors
def unrecognised(ctx: typer.Context, limit: Annotated[int, typer.Option()] = 100) -> None:
    """Feedback nobody could read: kept with its raw message, waiting to be re-processed."""
    ledger, _ = _setup(ctx)
    table = Table("id", "received", "channel", "from", "to", "size", "why")
    for entry in spool.entries(ledger.engine, "unrecognised", ledger.tenant_id, limit):
        envelope = json.loads(entry.envelope)
        notes = json.loads(entry.result or "{}").get("notes", [])
        table.add_row(str(entry.id), entry.received_at.isoformat(timespec="seconds"), entry.channel,
                      str(envelope.get("mail_from") or envelope.get("source") or ""),
                      ", ".join(envelope.get("rcpt_tos", [])), str(entry.size), "; ".join(notes)[:120])
    stdout.print(table)


@app.command()
@handles_errors
def reprocess(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Spool entry ids.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every unrecognised entry.")] = False,
) -> None:
    """Run unrecognised feedback through the parser again (after it improved)."""
    ledger, _ = _setup(ctx)
    if all_:
        ids = [e.id for e in spool.entries(ledger.engine, "unrecognised", ledger.tenant_id, limit=1_000_000)]
    if not ids:
        raise fail("give spool entry ids or --all", code=2)
    queued = spool.requeue(ledger.engine, ids)
    intake = IntakeWorker(ledger.engine, ledger.settings)
    while intake.run_once() > 0:
        pass
    still = {e.id for e in spool.entries(ledger.engine, "unrecognised", ledger.tenant_id, limit=1_000_000)}
    console.print(f"re-processed {queued}; recognised now: {len(set(ids) - still)}; "
                  f"still unrecognised: {len(set(ids) & still)}")


@import_app.command("mail")
@handles_errors
def import_mail(ctx: typer.Context, paths: list[str]) -> None:
    """Import an old bounce mailbox (mbox, maildir or a folder of .eml), applying the
    policy to each message; unrecognised ones are kept for `postwarden reprocess`."""
    ledger, _ = _setup(ctx)
    intake = IntakeWorker(ledger.engine, ledger.settings)
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    effects: Counter[str] = Counter()
    unrecognised_count = 0
    with Progress(TextColumn("importing {task.completed} messages"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("import", total=None)
        try:
            for source, raw in iter_messages(paths):
                entry_id = spool.enqueue(ledger.engine, "import", {"source": source,
                                                                    "tenant_id": ledger.tenant_id},
                                         raw, tenant_id=ledger.tenant_id, state="processing")
                intake.process(entry_id)
                result = json.loads(spool.result_of(ledger.engine, entry_id) or "{}")
                kinds[result.get("kind") or "error"] += 1
                for outcome in result.get("outcomes", []):
                    reasons[outcome.get("reason") or outcome["kind"]] += 1
                    effects[outcome["effect"]] += 1
                if not result.get("outcomes"):
                    unrecognised_count += 1
                progress.advance(task)
        except MailFileError as exc:
            raise fail(str(exc)) from None
    for title, counter in (("kind", kinds), ("reason", reasons), ("effect on the ledger", effects)):
        table = Table(title, "messages" if title == "kind" else "records", title=f"per {title}")
        for name, n in counter.most_common():
            table.add_row(name, str(n))
        stdout.print(table)
    stdout.print(f"unrecognised (kept; see `postwarden unrecognised`): {unrecognised_count}")
