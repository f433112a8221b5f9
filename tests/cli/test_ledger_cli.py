"""The CLI contract, run as the installed `postwarden` executable, on both backends."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from postwarden import settings as settings_mod
from postwarden.ledger import Ledger
from postwarden.ledger.messages import SentMessage

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))


def pw(db_url: str, tenant: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture
def cli(db_url: str, tenant: str, engine: Engine):  # type: ignore[no-untyped-def]
    return lambda *args, stdin=None: pw(db_url, tenant, *args, stdin=stdin)


def test_suppress_check_lift_and_audit(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("suppress", "<Reader@Example.com>", "--reason", "complaint", "--note", "fbl").returncode == 0
    checked = cli("check", "reader@example.com", "ok@example.com")
    rows = list(csv.DictReader(io.StringIO(checked.stdout)))
    assert list(rows[0]) == ["address", "verdict", "reason", "since"]
    assert [(r["address"], r["verdict"], r["reason"]) for r in rows] == [
        ("reader@example.com", "suppressed", "complaint"), ("ok@example.com", "allowed", "")]
    assert rows[0]["since"].endswith("Z")

    refused = cli("lift", "reader@example.com", "--note", "asked nicely")
    assert refused.returncode == 1 and "consent" in refused.stderr
    incomplete = cli("lift", "reader@example.com", "--note", "x", "--consent-by", "Dana")
    assert incomplete.returncode == 1 and "--consent-method" in incomplete.stderr
    lifted = cli("lift", "reader@example.com", "--note", "confirmed", "--consent-by", "Dana",
                 "--consent-method", "phone", "--evidence", "yes please", "--ticket", "T-1")
    assert lifted.returncode == 0, lifted.stderr
    shown = cli("audit", "show", "reader@example.com")
    for action in ("created", "lift_refused", "lifted"):
        assert action in shown.stdout
    assert cli("audit", "verify").returncode == 0


def test_check_reads_a_file_and_stdin(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("suppress", "b@example.com", "--reason", "hard_bounce")
    listing = tmp_path / "to.csv"
    listing.write_text("address\na@example.com\nb@example.com\n")
    rows = list(csv.DictReader(io.StringIO(cli("check", "--file", str(listing)).stdout)))
    assert [r["verdict"] for r in rows] == ["allowed", "suppressed"]
    rows = list(csv.DictReader(io.StringIO(cli("check", "--file", "-", stdin="b@example.com\n").stdout)))
    assert [r["verdict"] for r in rows] == ["suppressed"]


def test_topic_scope_through_the_cli(cli) -> None:  # type: ignore[no-untyped-def]
    cli("suppress", "fan@example.com", "--reason", "unsubscribe", "--scope", "newsletter")
    news = cli("check", "fan@example.com", "--scope", "newsletter").stdout
    billing = cli("check", "fan@example.com", "--scope", "billing").stdout
    assert ",suppressed," in news and ",allowed," in billing
    refused = cli("lift", "fan@example.com", "--note", "x")
    assert refused.returncode == 1 and "resubscribe" in refused.stderr
    resubscribed = cli("resubscribe", "fan@example.com", "--scope", "newsletter", "--evidence", "form")
    assert resubscribed.returncode == 0
    assert ",allowed," in cli("check", "fan@example.com", "--scope", "newsletter").stdout


def test_export_and_list_filters(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("suppress", "a@shop.example", "--reason", "manual")
    cli("suppress", "b@shop.example", "--reason", "invalid")
    cli("suppress", "c@else.example", "--reason", "invalid")
    out = tmp_path / "out.jsonl"
    assert cli("export", "--format", "jsonl", "-o", str(out), "--reason", "invalid",
               "--match", "*@shop.example").returncode == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["address"] for r in records] == ["b@shop.example"]
    listed = cli("list", "--reason", "invalid")
    assert "c@else.example" in listed.stdout and "a@shop.example" not in listed.stdout


def test_import_is_checked_whole_before_anything_applies(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("address,reason\none@example.com,hard_bounce\nbroken,manual\ntwo@example.com,nope\n")
    result = cli("import", "suppressions", str(bad), "--from", "csv")
    assert result.returncode == 1
    assert "line 3" in result.stderr and "line 4" in result.stderr
    assert ",allowed," in cli("check", "one@example.com").stdout
    good = tmp_path / "good.csv"
    good.write_text("address,reason,scope,created_at\none@example.com,hard_bounce,*,2025-03-01T10:00:00Z\n")
    assert cli("import", "suppressions", str(good)).returncode == 0
    assert "2025-03-01T10:00:00Z" in cli("check", "one@example.com").stdout
    again = cli("import", "suppressions", str(good))
    assert again.returncode == 0 and "1" in again.stderr


def test_audit_verify_fails_after_tampering(cli, engine: Engine, tenant: str) -> None:  # type: ignore[no-untyped-def]
    cli("suppress", "a@example.com", "--reason", "manual")
    cli("suppress", "b@example.com", "--reason", "manual")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1 AND tenant_id = "
                          "(SELECT id FROM tenants WHERE name = :t)"), {"t": tenant})
    result = cli("audit", "verify")
    assert result.returncode == 1 and "entry #1" in result.stderr


def test_usage_errors_exit_2_and_bad_database_is_clear(tmp_path: Path, tenant: str) -> None:
    assert pw("sqlite:///" + str(tmp_path / "x.db"), tenant, "suppress").returncode == 2
    unreachable = pw("postgresql://postgres@127.0.0.1:1/none", "default", "check", "a@example.com")
    assert unreachable.returncode == 1 and "cannot reach the database" in unreachable.stderr
    empty = pw("sqlite:///" + str(tmp_path / "empty.db"), "default", "check", "a@example.com")
    assert empty.returncode == 1 and "postwarden init" in empty.stderr


def test_tenants_and_keys(db_url: str, engine: Engine, tenant: str) -> None:
    name = f"{tenant}-cli"
    assert pw(db_url, "default", "tenant", "create", name).returncode == 0
    key = pw(db_url, "default", "key", "create", "--tenant", name)
    assert key.returncode == 0 and key.stdout.strip().startswith("pw_")
    assert pw(db_url, "default", "tenant", "create", name).returncode == 1


def test_contact_card(cli, engine: Engine, tenant: str) -> None:  # type: ignore[no-untyped-def]
    Ledger(engine, tenant, settings_mod.load(env={})).record_messages(
        [SentMessage("<c1@shop.example>", "card@example.com", "shop@shop.example", "Your receipt")])
    cli("suppress", "card@example.com", "--reason", "hard_bounce", "--note", "bounced")
    card = json.loads(cli("contact", "Card@Example.com", "--json").stdout)
    assert card["status"]["*"]["verdict"] == "suppressed" and card["status"]["*"]["lift"] == "recheck"
    assert [a["action"] for a in card["audit"]] == ["created"]
    assert [(m["message_id"], m["status"]) for m in card["messages"]] == [("c1@shop.example", "sent")]
    shown = cli("contact", "card@example.com").stdout
    assert "suppressed" in shown and "hard_bounce" in shown and "created" in shown
    assert "c1@shop.example" in shown and "Your receipt" in shown
