"""The evaluation measures on hand-checkable cases, and ``postwarden filter`` on a tiny
labels file built here (plus a slice of the shared corpus when it is present)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import postwarden.cli.filter_commands  # noqa: F401  (registers the commands)
from postwarden.cli.app import app
from postwarden.mailbox.evaluation import (
    Outcome,
    one_minus_roca_pct,
    read_labels,
    spam_miss_at_fpr_pct,
    summarise,
)
from postwarden.mailbox.verdict import Action
from tests.mailbox.mails import ham, newsletter, spam

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("POSTWARDEN_CORPUS", REPO.parent / "shared" / "corpus"))


def test_roc_area_by_hand() -> None:
    # 2 spam, 2 ham. Pairs (spam, ham): (.9,.1) ok, (.9,.5) ok, (.4,.1) ok, (.4,.5) wrong.
    assert one_minus_roca_pct([0.9, 0.4, 0.1, 0.5], [True, True, False, False]) == pytest.approx(25.0)
    # a tie counts half: (.5,.5) is half wrong out of 4 pairs
    assert one_minus_roca_pct([0.9, 0.5, 0.1, 0.5], [True, True, False, False]) == pytest.approx(12.5)
    assert one_minus_roca_pct([1, 2], [True, True]) is None
    assert one_minus_roca_pct([3, 2, 1], [True, False, False]) == 0.0


def test_spam_miss_at_low_false_positive_rate_by_hand() -> None:
    # 1000 ham at scores 0..999; 0.1% of 1000 = 1 ham may sit above the line, so the
    # line is the second-highest ham (998): spam at or below it is missed.
    hams = list(range(1000))
    spams = [998, 998.5, 999.5, 2000]
    scores = hams + spams
    truth = [False] * 1000 + [True] * 4
    assert spam_miss_at_fpr_pct(scores, truth) == pytest.approx(25.0)
    # with 999 ham, no false positive is allowed: the line is the top ham
    assert spam_miss_at_fpr_pct(hams[:999] + spams, [False] * 999 + [True] * 4) == pytest.approx(25.0)
    assert spam_miss_at_fpr_pct([1.0], [True]) is None


def test_summary_counts_verdicts_and_warmup() -> None:
    outcomes = [  # reported score (0 while abstaining), verdict, truth, abstained, model's own score
        Outcome("a", 0.0, Action.INBOX, True, True, 0.5),  # abstained spam: a miss, during warm-up
        Outcome("b", 0.0, Action.INBOX, False, True, -1.0),
        Outcome("c", 3.0, Action.SPAM, True, False, 3.0),
        Outcome("d", 2.5, Action.SPAM, False, False, 2.5),  # a false positive
        Outcome("e", -2.0, Action.INBOX, False, False, -2.0),
        Outcome("f", 1.0, Action.INBOX, True, False, 1.0),  # a miss after warm-up
    ]
    summary = summarise(outcomes, seconds=2.0)
    assert summary["messages"] == 6 and summary["spam"] == 3 and summary["ham"] == 3
    assert summary["false_positives"] == 1 and summary["false_positive_rate_pct"] == pytest.approx(33.3333)
    assert summary["false_negatives"] == 2 and summary["false_negative_rate_pct"] == pytest.approx(66.6667)
    assert summary["false_negative_rate_after_warmup_pct"] == pytest.approx(50.0)
    assert summary["false_positive_rate_after_warmup_pct"] == pytest.approx(50.0)
    assert summary["abstained"] == 2 and summary["messages_per_second"] == 3.0
    # as reported: spam 0, 3, 1 against ham 0, 2.5, -2 -> (0,0) ties, (0,2.5) and (1,2.5)
    # are wrong: 2.5 of 9
    assert summary["one_minus_roca_pct"] == pytest.approx(100 * 2.5 / 9, abs=1e-4)
    # the model's own scores: spam .5, 3, 1 against ham -1, 2.5, -2 -> wrong pairs
    # (.5,2.5) and (1,2.5): 2 of 9
    assert summary["one_minus_roca_pct_model"] == pytest.approx(100 * 2 / 9, abs=1e-4)


def _tiny_labels(folder: Path) -> Path:
    (folder / "mail").mkdir()
    lines = []
    for i in range(24):
        for kind, make in (("spam", spam), ("ham", ham)):
            name = f"mail/{kind}{i}.eml"
            to = f"user{i % 2}@example.org"
            (folder / name).write_bytes(make(i, to=to))
            lines.append(f"{name}\t{kind}")
    (folder / "mail" / "news.eml").write_bytes(newsletter(1))
    lines.append("mail/news.eml\tham")
    labels = folder / "labels.tsv"
    labels.write_text("\n".join(lines) + "\n")
    return labels


def test_evaluate_command_follows_the_contract(tmp_path: Path) -> None:
    labels = _tiny_labels(tmp_path)
    results = tmp_path / "out" / "results.tsv"
    results.parent.mkdir()
    run = runner.invoke(app, ["filter", "evaluate", str(labels), "--results", str(results)])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    for key in (
        "messages", "one_minus_roca_pct", "false_positive_rate_pct", "false_negative_rate_pct",
        "spam_miss_at_0_1_fpr_pct", "messages_per_second",
    ):
        assert key in summary
    rows = [line.split("\t") for line in results.read_text().splitlines()]
    assert [r[0] for r in rows] == [item.path for item in read_labels(labels)]
    assert summary["messages"] == len(rows) == 49
    # the JSON agrees with the per-message lines, recomputed here from scratch
    truth = [r[3] == "spam" for r in rows]
    scores = [float(r[1]) for r in rows]
    fp = sum(1 for r in rows if r[3] == "ham" and r[2] != "inbox")
    fn = sum(1 for r in rows if r[3] == "spam" and r[2] == "inbox")
    assert summary["false_positives"] == fp and summary["false_negatives"] == fn
    wrong = sum(
        (1.0 if s < h else 0.5 if s == h else 0.0)
        for s, t in zip(scores, truth, strict=True) if t
        for h, u in zip(scores, truth, strict=True) if not u
    )
    assert summary["one_minus_roca_pct"] == pytest.approx(100 * wrong / (24 * 25), abs=1e-3)
    # the first messages were classified before the model knew anything
    assert rows[0][1] == "0.000000" and rows[0][2] == "inbox"
    # and it learned: the last spam scores well above the last ham
    assert scores[-3] > 0 > scores[-2]


def test_evaluate_with_a_user_header_and_saved_model(tmp_path: Path) -> None:
    labels = _tiny_labels(tmp_path)
    model = tmp_path / "model.pwfilter"
    args = ["filter", "evaluate", str(labels), "--user-field", "To", "--save-model", str(model)]
    run = runner.invoke(app, args)
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["messages"] == 49
    spam3 = str(tmp_path / "mail" / "spam3.eml")
    args = ["filter", "classify", spam3, "--model", str(model), "--user", "user1@example.org"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0 and shown.stdout.startswith("spam: score +"), shown.stdout
    assert "[user, towards spam]" in shown.stdout
    as_json = runner.invoke(
        app, ["filter", "classify", str(tmp_path / "mail" / "ham3.eml"), "--model", str(model), "--json"]
    )
    verdict = json.loads(as_json.stdout)
    assert verdict["verdict"] == "inbox" and verdict["score"] < 0 and verdict["reasons"]


def test_learn_command_updates_a_model_file(tmp_path: Path) -> None:
    labels = _tiny_labels(tmp_path)
    model = tmp_path / "m.pwfilter"
    mail = tmp_path / "mail"
    spams = [str(mail / f"spam{i}.eml") for i in range(24)]
    hams = [str(mail / f"ham{i}.eml") for i in range(24)]
    assert runner.invoke(app, ["filter", "learn", *spams, "--spam", "--model", str(model)]).exit_code == 0
    run = runner.invoke(app, ["filter", "learn", *hams, "--not-spam", "--model", str(model)])
    # every click is learned, but once the model agrees firmly a click changes nothing
    learned = json.loads(run.stdout)
    assert learned["messages"] == 24 and 1 <= learned["changed"] < 24
    check = runner.invoke(app, ["filter", "classify", hams[0], "--model", str(model), "--json"])
    assert json.loads(check.stdout)["verdict"] == "inbox"
    assert labels.exists()


def test_evaluate_refuses_bad_labels(tmp_path: Path) -> None:
    labels = tmp_path / "labels.tsv"
    labels.write_text("a.eml\tmaybe\n")
    run = runner.invoke(app, ["filter", "evaluate", str(labels)])
    assert run.exit_code == 1 and "spam|ham" in run.output
    missing = runner.invoke(app, ["filter", "evaluate", str(tmp_path / "none.tsv")])
    assert missing.exit_code == 1


@pytest.mark.skipif(
    not (CORPUS / "spam" / "labels_chrono.tsv").exists(),
    reason=f"spam corpus not found at {CORPUS} (set POSTWARDEN_CORPUS)",
)
def test_corpus_slice(tmp_path: Path) -> None:
    source = CORPUS / "spam"
    relative = Path(os.path.relpath(source, tmp_path))
    lines = (source / "labels_chrono.tsv").read_text().splitlines()[:1500]
    labels = tmp_path / "slice.tsv"
    labels.write_text("".join(f"{relative / line}\n" for line in lines))
    started = time.process_time()  # CPU time: the machine may be shared
    run = runner.invoke(app, ["filter", "evaluate", str(labels)])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert summary["messages"] == 1500
    assert time.process_time() - started < 10
    # a loose floor, far from the full-corpus figures: this is a smoke test
    assert summary["one_minus_roca_pct"] < 1.0
    assert summary["false_positive_rate_pct"] < 1.0
