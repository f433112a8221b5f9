"""The generic table-driven runner over the public corpus (skipped without it).

Every labelled message is parsed and compared with its expected records; the
test asserts the overall score stays above a floor (the benchmark prints the
misses), that maildir/not gives no records, and that no file makes the parser
raise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postwarden.parse import parse_message
from postwarden.parse.evaluate import compare

# Floors below the measured figures (see docs/parsing.md): a drop is a regression.
MIN_MESSAGES_EXACT = 0.97
MIN_HARD_BOUNCE = 0.995


def test_corpus_accuracy_floor(bounces: Path, expected: dict[str, Any]) -> None:
    exact = total = hard_right = hard_total = 0
    for rel, entry in expected.items():
        if entry.get("expected") is None:
            continue
        verdict = compare(entry["expected"], parse_message((bounces / rel).read_bytes()).records)
        total += 1
        exact += verdict.exact
        hard_right += verdict.hard_right
        hard_total += verdict.hard_total
    assert total > 0
    assert exact / total >= MIN_MESSAGES_EXACT
    assert hard_right / hard_total >= MIN_HARD_BOUNCE


def test_not_bounces_give_no_records(bounces: Path) -> None:
    for path in sorted((bounces / "maildir" / "not").glob("*")):
        result = parse_message(path.read_bytes())
        assert result.error is None
        if path.name.startswith("is-not-bounce"):
            assert result.records == [], path.name


def test_no_corpus_file_raises(bounces: Path) -> None:
    for path in sorted(p for p in bounces.rglob("*") if p.is_file() and p.name != "expected.json"):
        result = parse_message(path.read_bytes())
        assert result.kind in ("bounce", "delay", "delivered", "complaint", "autoreply", "none")
        if result.error is None:
            for record in result.records:
                assert record.reason
