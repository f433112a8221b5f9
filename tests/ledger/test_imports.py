"""Imports: whole file or nothing, idempotent, in file order in the audit chain; the
streamed paths (hand-written canonical JSON, the temporary-table lookup on
PostgreSQL, chunks written as the file is read into an empty ledger) give what the
plain ones give."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.errors import ImportFileInvalid
from postwarden.intake import exports
from postwarden.ledger import Ledger, bulk, service
from postwarden.ledger.audit import canonical_evidence, hash_values, import_evidence
from postwarden.ledger.service import ImportRow
from postwarden.ledger.tenants import create_tenant
from tests.conftest import Clock

text = st.text(max_size=40)


@given(tenant_id=st.integers(1, 10**6), seq=st.integers(1, 10**9),
       at=st.datetimes(min_value=datetime(2000, 1, 1)), actor=text, action=text, address=text, scope=text,
       reason_class=st.none() | text, note=text, evidence=text, prev=text)
def test_entry_hash_is_sha256_of_the_json_array(tenant_id: int, seq: int, at: datetime, actor: str,
                                                action: str, address: str, scope: str,
                                                reason_class: str | None, note: str, evidence: str,
                                                prev: str) -> None:
    fields = [tenant_id, seq, at.isoformat(timespec="microseconds"), actor, action, address, scope,
              reason_class, note, evidence, prev]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    try:
        expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:  # lone surrogates: neither form can be hashed
        return
    assert hash_values(tenant_id, seq, at, actor, action, address, scope, reason_class, note, evidence,
                       prev) == expected


@given(source=text, line=st.integers(1, 10**7), reason=st.none() | text)
def test_import_evidence_is_the_canonical_form(source: str, line: int, reason: str | None) -> None:
    assert import_evidence(source, line, reason) == canonical_evidence(
        {"source": source, "line": line, "reason": reason})


def rows(*specs: tuple[str, ...]) -> list[ImportRow]:
    """Import rows from (address, class[, scope]), numbered from line 2 as under a header."""
    return [ImportRow(n, spec[0], spec[1], spec[2] if len(spec) > 2 else "*")
            for n, spec in enumerate(specs, 2)]


def test_import_is_idempotent_and_counts_repeats(ledger: Ledger) -> None:
    first = ledger.import_rows(rows(("A@Example.com", "manual"), ("b@example.com", "complaint"),
                                    ("a@example.com", "manual"), ("a@example.com", "unsubscribe", "news")),
                               source="import:csv:x.csv", actor="op")
    assert (first.rows, first.created, first.unchanged) == (4, 3, 1)
    assert first.by_class == {"manual": 1, "complaint": 1, "unsubscribe": 1}
    seq = ledger.change_sequence()
    again = ledger.import_rows(rows(("a@example.com", "manual"), ("b@example.com", "complaint")),
                               source="import:csv:x.csv", actor="op")
    assert (again.created, again.reactivated, again.unchanged) == (0, 0, 2)
    assert ledger.change_sequence() == seq
    entries = ledger.audit_for()
    assert [(e.address, e.reason_class, e.action) for e in entries] == [
        ("a@example.com", "manual", "created"), ("b@example.com", "complaint", "created"),
        ("a@example.com", "unsubscribe", "created")]
    assert json.loads(entries[0].evidence) == {"source": "import:csv:x.csv", "line": 2, "reason": None}
    assert entries[0].note == "imported from import:csv:x.csv"
    assert ledger.verify_audit() is None


def test_import_reactivates_a_lifted_row_in_file_order(ledger: Ledger) -> None:
    ledger.suppress("old@example.com", "manual", actor="op")
    ledger.lift("old@example.com", note="asked", actor="op")
    summary = ledger.import_rows(rows(("new1@example.com", "manual"), ("old@example.com", "manual"),
                                      ("new2@example.com", "manual")), source="import:csv:y.csv", actor="op")
    assert (summary.created, summary.reactivated) == (2, 1)
    imported = ledger.audit_for()[2:]
    assert [e.address for e in imported] == ["new1@example.com", "old@example.com", "new2@example.com"]
    assert "suppressed again: this is time 2" in imported[1].note
    row = ledger.suppressions_for("old@example.com")[0]
    assert (row.state, row.times_suppressed, row.lifted_at) == ("active", 2, None)
    assert ledger.check(["old@example.com"])[0].verdict == "suppressed"
    assert ledger.verify_audit() is None


def test_progress_adds_up_to_the_rows(ledger: Ledger) -> None:
    held = [ImportRow(n, f"p{n % 20001}@example.com", "manual") for n in range(2, 25002)]
    ledger.import_rows(held[:3000], source="s", actor="op")
    advanced: list[int] = []
    summary = ledger.import_rows(held, source="s", actor="op", progress=advanced.append)
    assert sum(advanced) == summary.rows == 25000 and max(advanced) == service.PROGRESS_STEP
    assert (summary.created, summary.unchanged) == (17001, 7999)


def test_an_empty_ledger_and_a_full_one_import_alike(engine: Engine, clock: Clock) -> None:
    """Into an empty ledger the rows are written as they are read (no lookup); into one
    holding something, after one lookup. The outcome is the same."""
    file = rows(*[(f"s{n % 5}@example.com", "manual") for n in range(7)], ("x@example.com", "invalid"))
    entries = {}
    for holds_something in (False, True):
        name = f"t-{uuid.uuid4().hex[:8]}"
        create_tenant(engine, name)
        ledger = Ledger(engine, name, settings_mod.load(env={}), clock)
        if holds_something:
            ledger.suppress("other@example.com", "manual", actor="op")
        advanced: list[int] = []
        summary = ledger.import_rows(iter(file), source="s", actor="op", progress=advanced.append)
        assert (summary.rows, summary.created, summary.unchanged) == (8, 6, 2) and sum(advanced) == 8
        entries[holds_something] = [(e.action, e.address, e.note) for e in ledger.audit_for()
                                    if e.address != "other@example.com"]
        assert ledger.verify_audit() is None
    assert entries[False] == entries[True]
    assert [address for _, address, _ in entries[False]] == [*(f"s{n}@example.com" for n in range(5)),
                                                             "x@example.com"]


def test_a_bad_line_after_rows_were_written_still_imports_nothing(ledger: Ledger) -> None:
    text = "address,reason\n" + "".join(f"c{n}@example.com,manual\n" for n in range(6))
    text += "late@example.com,nonsense\nwho@example.com,manual,extra\nlast@example.com,manual\n"
    with pytest.raises(ImportFileInvalid) as raised:
        ledger.import_rows(exports.iter_rows("csv", io.StringIO(text, newline="")), source="s", actor="op")
    # One bad line found by the ledger, one by the reader: both named, in line order.
    assert [line for line, _ in raised.value.problems] == [8, 9]
    assert ledger.change_sequence() == 0 and ledger.find() == []
    assert ledger.check(["c0@example.com"])[0].verdict == "allowed"


def test_a_bad_line_imports_nothing(ledger: Ledger) -> None:
    with pytest.raises(ImportFileInvalid) as raised:
        ledger.import_rows(rows(("ok@example.com", "manual"), ("not an address", "manual"),
                                ("x@example.com", "nonsense")), source="s", actor="op")
    assert [line for line, _ in raised.value.problems] == [3, 4]
    assert ledger.change_sequence() == 0
    assert ledger.check(["ok@example.com"])[0].verdict == "allowed"


def test_large_batches_take_the_probed_lookup_with_the_same_answers(ledger: Ledger,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.suppress("held@example.com", "manual", actor="op")
    ledger.suppress("gone@example.com", "manual", actor="op")
    ledger.lift("gone@example.com", note="asked", actor="op")
    ledger.suppress("topic@example.com", "unsubscribe", scope="news", actor="op")
    wanted = ["held@example.com", "gone@example.com", "topic@example.com", "never@example.com", "x y"]
    plain = ledger.check(wanted, scope="news")
    monkeypatch.setattr(bulk, "POSTGRES_ARRAY_UP_TO", 1)
    assert ledger.check(wanted, scope="news") == plain
    assert [r.verdict for r in plain] == ["suppressed", "allowed", "suppressed", "allowed", "suppressed"]
    summary = ledger.import_rows(rows(("held@example.com", "manual"), ("gone@example.com", "manual"),
                                      ('"a\\\\b\tc"@example.com', "manual")), source="s", actor="op")
    assert (summary.created, summary.reactivated, summary.unchanged) == (1, 1, 1)
    assert ledger.check(['"a\\\\b\tc"@example.com'])[0].verdict == "suppressed"
    assert ledger.verify_audit() is None
