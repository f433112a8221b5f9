"""`postwarden mailbox ...` and `postwarden inbound`, run as the installed executable."""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.dnsserver import dns_server
from tests.mailbox.mails import ham, spam
from tests.servers import free_port

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))
ALICE = "alice@example.org"


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    with dns_server([]) as (_, dns):
        yield {**os.environ, "POSTWARDEN_DNS_SERVERS": json.dumps([dns]),
               "POSTWARDEN_MAILBOX_MODEL_BITS": "16"}


def pw(db_url: str, tenant: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_rules_clicks_and_classify(db_url: str, engine: Engine, tenant: str, env: dict[str, str],
                                   tmp_path: Path) -> None:
    offer, note = tmp_path / "offer.eml", tmp_path / "note.eml"
    offer.write_bytes(spam(1))
    note.write_bytes(ham(1))
    added = pw(db_url, tenant, env, "mailbox", "rule", "--user", ALICE, "block", "domain",
               "promo1.example.net", "--reject")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["action"] == "reject"
    found = pw(db_url, tenant, env, "mailbox", "classify", str(offer), "--user", ALICE, "--json")
    assert json.loads(found.stdout)["verdict"] == "reject"
    text = pw(db_url, tenant, env, "mailbox", "classify", str(offer), "--user", ALICE).stdout
    assert "USER_BLOCKED" in text and "authentication: spf=none" in text
    click = pw(db_url, tenant, env, "mailbox", "report-spam", str(note), "--user", ALICE, "--no-share")
    assert json.loads(click.stdout)["consent"] == "declined"
    undo = pw(db_url, tenant, env, "mailbox", "report-not-spam", str(note), "--user", ALICE)
    assert json.loads(undo.stdout)["learned"] is True
    listed = pw(db_url, tenant, env, "mailbox", "rule", "--user", ALICE)
    assert [r["value"] for r in json.loads(listed.stdout)["rules"]] == ["promo1.example.net"]
    bad = pw(db_url, tenant, env, "mailbox", "rule", "--user", ALICE, "trust", "ip", "192.0.2.1")
    assert bad.returncode == 1 and "only block rules" in bad.stderr


def test_inbound_command_serves_smtp(db_url: str, engine: Engine, tenant: str, env: dict[str, str],
                                     tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen([POSTWARDEN, "--database", db_url, "--tenant", tenant, "inbound", "--port",
                                str(port), "--deliver", f"maildir:{tmp_path}"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with smtp:
            smtp.sendmail("dev@lists.example.org", [ALICE], ham(5))
        stored = list((tmp_path / ALICE / "new").iterdir())
        assert len(stored) == 1 and b"X-Spam-Verdict: inbox" in stored[0].read_bytes()
    finally:
        process.terminate()
        process.wait(10)
