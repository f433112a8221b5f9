"""``postwarden filter``: the learning spam filter on the command line.

``filter evaluate`` is a contract that benchmarks rely on: its arguments, its JSON
keys and the ``--results`` line format stay stable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TextIO

import typer

from postwarden.cli.app import app, fail
from postwarden.errors import PostwardenError
from postwarden.mailbox import FilterPolicy, LearnedModel, SpamFilter
from postwarden.mailbox.evaluation import Outcome, evaluate

filter_app = typer.Typer(
    help="The spam filter that learns from users' spam and not-spam clicks.",
    no_args_is_help=True,
)
app.add_typer(filter_app, name="filter")


def _load(model: Path | None) -> LearnedModel:
    if model is None:
        return LearnedModel()
    try:
        return LearnedModel.from_bytes(model.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read model {model}: {exc.strerror}") from exc
    except PostwardenError as exc:
        raise fail(f"{model}: {exc.message}") from exc


@filter_app.command("evaluate")
def evaluate_command(
    labels: Annotated[
        Path, typer.Argument(help="Lines 'path<TAB>spam|ham' in order, paths relative to this file.")
    ],
    results: Annotated[
        Path | None,
        typer.Option("--results", help="Write 'path<TAB>score<TAB>verdict<TAB>truth' per message here."),
    ] = None,
    user_field: Annotated[
        str | None,
        typer.Option("--user-field", help="Header whose value names the user (default: one user for all)."),
    ] = None,
    save_model: Annotated[
        Path | None, typer.Option("--save-model", help="Write the trained model here afterwards.")
    ] = None,
) -> None:
    """Start from an empty model; for each message in order, classify it, then learn its
    true label (the user's click). Prints a JSON summary; scores are spam log-odds."""
    if not labels.is_file():
        raise fail(f"cannot read {labels}: no such file")
    spam_filter = SpamFilter(LearnedModel(), FilterPolicy())
    sink: TextIO | None = None
    try:
        if results is not None:
            sink = results.open("w", encoding="utf-8")

        def write(outcome: Outcome) -> None:
            if sink is not None:
                truth = "spam" if outcome.is_spam else "ham"
                sink.write(f"{outcome.path}\t{outcome.score:.6f}\t{outcome.action.value}\t{truth}\n")

        summary = evaluate(labels, spam_filter, user_header=user_field, on_outcome=write)
    except PostwardenError as exc:
        raise fail(exc.message) from exc
    except OSError as exc:
        raise fail(f"cannot write {results}: {exc.strerror}") from exc
    finally:
        if sink is not None:
            sink.close()
    if save_model is not None:
        save_model.write_bytes(spam_filter.model.to_bytes())
    typer.echo(json.dumps(summary, indent=2))


@filter_app.command("classify")
def classify_command(
    file: Annotated[Path, typer.Argument(help="A message file (.eml or raw RFC 5322).")],
    model: Annotated[
        Path | None, typer.Option("--model", help="A model saved by 'filter evaluate --save-model'.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Classify for this user's own layer.")] = None,
    explain: Annotated[int, typer.Option("--explain", min=0, help="How many features to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Say where a message would go (inbox, spam or reject), its score, and why."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}") from exc
    verdict = SpamFilter(_load(model)).classify(raw, user=user, explain=explain)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "verdict": verdict.action.value,
                    "score": round(verdict.score, 4),
                    "probability": round(verdict.probability, 4),
                    "abstained": verdict.abstained,
                    "reasons": [
                        {"feature": r.feature, "weight": round(r.weight, 4), "source": r.source}
                        for r in verdict.reasons
                    ],
                }
            )
        )
    else:
        typer.echo(verdict.explain())


@filter_app.command("learn")
def learn_command(
    files: Annotated[list[Path], typer.Argument(help="Message files to learn from.")],
    model: Annotated[Path, typer.Option("--model", help="Model file to update (created when missing).")],
    spam: Annotated[bool, typer.Option("--spam/--not-spam", help="The click: spam or not spam.")],
    user: Annotated[str | None, typer.Option("--user", help="Whose click it is.")] = None,
) -> None:
    """Learn from spam or not-spam clicks on the given messages, and save the model."""
    spam_filter = SpamFilter(_load(model if model.exists() else None))
    changed = 0
    for file in files:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror}") from exc
        changed += spam_filter.learn(raw, is_spam=spam, user=user)
    model.write_bytes(spam_filter.model.to_bytes())
    typer.echo(json.dumps({"messages": len(files), "changed": changed}))
