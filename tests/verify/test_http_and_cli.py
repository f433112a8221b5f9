"""POST /v1/verify, the recheck endpoint and verification at check and import time,
over real HTTP; `postwarden verify` and `postwarden recheck` as the installed command."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import Engine

from postwarden.ledger import Ledger
from postwarden.ledger.tenants import create_tenant
from tests.verify.conftest import TIMEOUT, Dns

POSTWARDEN = str(Path(sys.executable).with_name("postwarden"))


def test_verify_endpoint(api: httpx.Client) -> None:
    got = api.post("/v1/verify",
                   json={"addresses": ["Ann@Good.net", "bob@nullmx.net", "x@gmial.com", "nope"]})
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [(r["address"], r["verdict"]) for r in results] == [
        ("ann@good.net", "deliverable"), ("bob@nullmx.net", "undeliverable"),
        ("x@gmial.com", "risky"), ("nope", "undeliverable")]
    assert results[1]["reasons"] == ["null_mx"] and "RFC 7505" in results[1]["why"]
    assert results[2]["suggestion"] == "x@gmail.com"
    assert api.post("/v1/verify", json={"addresses": ["a@b.net"] * 10_001}).status_code == 422
    assert httpx.post(f"{api.base_url}/v1/verify", json={"addresses": []}).status_code == 401


def test_recheck_endpoint(api: httpx.Client) -> None:
    created = api.post("/v1/suppressions", json={"address": "ann@good.net", "reason": "invalid"})
    assert created.status_code == 201
    got = api.post("/v1/suppressions/ann@good.net/recheck", json={"note": "fixed their DNS"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["passed"] and body["lifted"] == [{"reason_class": "invalid", "scope": "*"}]
    assert body["verification"]["verdict"] == "deliverable"
    audit = api.get("/v1/audit", params={"address": "ann@good.net"}).json()["entries"]
    assert audit[-1]["action"] == "rechecked" and audit[-1]["actor"].startswith("api-key:")
    assert "fixed their DNS" in audit[-1]["note"]

    api.post("/v1/suppressions", json={"address": "bob@nowhere.net", "reason": "hard_bounce"})
    stays = api.post("/v1/suppressions/bob@nowhere.net/recheck").json()
    assert not stays["passed"] and stays["kept"][0]["action"] == "recheck_failed"

    api.post("/v1/suppressions", json={"address": "cy@good.net", "reason": "complaint"})
    refused = api.post("/v1/suppressions/cy@good.net/recheck")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "policy_refused" and "consent" in error["message"]
    assert api.post("/v1/suppressions/dee@good.net/recheck").status_code == 404


def test_check_and_import_leave_addresses_alone_by_default(api: httpx.Client) -> None:
    results = api.post("/v1/check", json={"addresses": ["ann@nowhere.net"]}).json()["results"]
    assert results[0]["verdict"] == "allowed"
    imported = api.post("/v1/imports/suppressions", content=b"address,reason\nbob@nowhere.net,manual\n")
    assert imported.status_code == 200 and "undeliverable_suppressed" not in imported.json()
    held = api.get("/v1/suppressions/bob@nowhere.net").json()["suppressions"]
    assert [r["reason_class"] for r in held] == ["manual"]


def test_verification_on_check_suppresses_undeliverable_addresses(screening_api: httpx.Client) -> None:
    checked = screening_api.post("/v1/check", json={"addresses": [
        "ann@good.net", "bob@nowhere.net", "cy@nullmx.net", "dee@slow.net"]}).json()["results"]
    assert [(r["verdict"], r["reason_class"], r["reason"]) for r in checked] == [
        ("allowed", None, None), ("suppressed", "invalid", "no_such_domain"),
        ("suppressed", "invalid", "null_mx"), ("allowed", None, None)]  # a timeout proves nothing
    again = screening_api.post("/v1/check", json={"addresses": ["bob@nowhere.net"]}).json()["results"]
    assert again[0]["reason_class"] == "invalid" and again[0]["lift"] == "recheck"
    audit = screening_api.get("/v1/audit", params={"address": "bob@nowhere.net"}).json()["entries"]
    assert audit[0]["action"] == "created" and "does not exist" in audit[0]["note"]


def test_verification_on_import_adds_invalid_suppressions(screening_api: httpx.Client) -> None:
    body = "address,reason\nann@good.net,unsubscribe\nbob@nowhere.net,soft_bounce\n"
    got = screening_api.post("/v1/imports/suppressions", content=body.encode())
    assert got.status_code == 200, got.text
    assert got.json()["undeliverable_suppressed"] == 1
    held = screening_api.get("/v1/suppressions/bob@nowhere.net").json()["suppressions"]
    kinds = {r["reason_class"] for r in held}
    assert kinds == {"soft_bounce", "invalid"}


def pw(db_url: str, tenant: str, dns: Dns, *args: str,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTWARDEN_DNS_SERVERS": f'["{dns.server}"]',
           "POSTWARDEN_DNS_TIMEOUT": str(TIMEOUT), "COLUMNS": "200", **(env or {})}
    return subprocess.run([POSTWARDEN, "--database", db_url, "--tenant", tenant, *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli_verify_writes_csv(dns: Dns, tmp_path: Path, sqlite_url: str) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("email,name\nann@good.net,Ann\nbob@nullmx.net,Bob\n")
    done = pw(sqlite_url, "default", dns, "verify", "cy@gmial.com", "--file", str(listing))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert list(rows[0]) == ["address", "verdict", "reasons", "why", "suggestion", "mail_hosts"]
    assert [(r["address"], r["verdict"], r["suggestion"]) for r in rows] == [
        ("cy@gmial.com", "risky", "cy@gmail.com"), ("ann@good.net", "deliverable", ""),
        ("bob@nullmx.net", "undeliverable", "")]
    assert "deliverable: 1" in done.stderr and "3 DNS lookups" in done.stderr
    assert pw(sqlite_url, "default", dns, "verify").returncode == 2


def test_cli_recheck(dns: Dns, db_url: str, ledger: Ledger) -> None:
    ledger.suppress("ann@good.net", "invalid")
    ledger.suppress("bob@nowhere.net", "hard_bounce")
    ledger.suppress("cy@good.net", "unsubscribe")
    lifted = pw(db_url, ledger.tenant_name, dns, "recheck", "ann@good.net", "--note", "typo fixed in the CRM")
    assert lifted.returncode == 0, lifted.stderr
    assert "lifted invalid" in lifted.stderr
    assert ledger.audit_for("ann@good.net")[-1].actor.startswith("operator:")
    stays = pw(db_url, ledger.tenant_name, dns, "recheck", "bob@nowhere.net")
    assert stays.returncode == 1 and "still suppressed: hard_bounce" in stays.stderr
    refused = pw(db_url, ledger.tenant_name, dns, "recheck", "cy@good.net")
    assert refused.returncode == 1 and "re-subscription" in refused.stderr


def test_cli_import_verifies_when_asked(dns: Dns, db_url: str, engine: Engine, tmp_path: Path) -> None:
    tenant = "import-verify-" + os.urandom(3).hex()
    create_tenant(engine, tenant)
    listing = tmp_path / "export.csv"
    listing.write_text("address,reason\nbob@nowhere.net,manual\n")
    done = pw(db_url, tenant, dns, "import", "suppressions", str(listing),
              env={"POSTWARDEN_VERIFY_ON_IMPORT": "true"})
    assert done.returncode == 0, done.stderr
    assert "1 undeliverable address(es) suppressed as invalid" in done.stderr
