"""DMARC aggregate reports: every container, hostile input refused with a clear
message, stored once per report on both databases, and a fuzzed parser."""

from __future__ import annotations

import email
import email.policy
import gzip
import io
import zipfile
from datetime import datetime
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postwarden.ledger import Ledger
from postwarden.reports.dmarc import DmarcRefused, ingest, read_reports, summary
from tests.reports.dmarc_samples import gzipped, in_email, report_xml, zipped

LIMIT = 1_000_000
NOW = datetime(2026, 1, 6)


@pytest.mark.parametrize("wrap", [
    lambda x: x, gzipped, zipped, in_email,
    lambda x: in_email(zipped(x), "report.zip", "application/zip"),
    lambda x: in_email(x, "report.xml", "text/xml"),
    lambda x: b"\xef\xbb\xbf" + x,
], ids=["xml", "gzip", "zip", "email-gzip", "email-zip", "email-xml", "bom"])
def test_every_container(wrap: object) -> None:
    assert callable(wrap)
    (report,) = read_reports(wrap(report_xml()), LIMIT)
    assert (report.org_name, report.report_id, report.domain) == ("google.com", "r-1", "example.org")
    assert report.policy["p"] == "reject"
    assert report.date_begin == datetime(2026, 1, 5)
    first = report.rows[0]
    assert (first.source_ip, first.count, first.dkim, first.spf, first.header_from) == (
        "192.0.2.10", 120, "pass", "pass", "example.org")
    assert {a.method for a in first.auth} == {"dkim", "spf"}


def test_the_dmarc_2_namespace_is_read_too() -> None:
    (report,) = read_reports(report_xml(namespace="urn:ietf:params:xml:ns:dmarc-2.0"), LIMIT)
    assert len(report.rows) == 2


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feedback><report_metadata><org_name>&lol3;</org_name></report_metadata></feedback>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>"""


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("r.xml", b"<" + b" " * (LIMIT * 3))
    return buffer.getvalue()


def _many_members() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(20):
            archive.writestr(f"{n}.xml", report_xml(f"r{n}"))
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "message"), [
    (gzip.compress(b"<" + b" " * (LIMIT * 3)), "possible bomb"),
    (_zip_bomb(), "possible bomb"),
    (_many_members(), "holds 20 files"),
    (gzip.compress(gzip.compress(report_xml())), "archive inside an archive"),
    (BILLION_LAUGHS, "DTD or entities is refused"),
    (EXTERNAL, "DTD or entities is refused"),
    (report_xml()[:-40], "not well-formed XML"),
    (gzipped(report_xml())[:-20], "truncated gzip"),
    (zipped(report_xml())[:-30], "broken zip"),
    (report_xml().replace(b"UTF-8", b"x-no-such-encoding"), "encoding"),
    (report_xml().replace(b"google.com", "gööglé".encode("latin-1")), "not well-formed XML"),
    (b"<html><body>hello</body></html>", "not a DMARC <feedback> report"),
    (report_xml().replace(b"192.0.2.10", b"999.1.1.1"), "not an IP address"),
    (report_xml().replace(b"<count>120</count>", b"<count>many</count>"), "count is not a number"),
    (report_xml().replace(b"<report_id>r-1</report_id>", b""), "no report_id"),
    (report_xml().replace(b"1767571200", b"soon"), "not a Unix time"),
    (b"\x00\x01binary", "neither XML, gzip, zip nor an email"),
    (b"Subject: hi\r\n\r\nno attachment here", "no zip, gzip or XML attachment"),
    (b"<" * (LIMIT + 1), "over the limit"),
], ids=["gzip-bomb", "zip-bomb", "zip-members", "nested", "billion-laughs", "external-entity",
        "truncated-xml", "truncated-gzip", "truncated-zip", "unknown-encoding", "mis-encoded", "not-dmarc",
        "bad-ip",
        "bad-count", "no-id", "bad-time", "binary", "email-without-report", "too-large"])
def test_hostile_and_broken_input_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(DmarcRefused, match=message):
        read_reports(data, LIMIT)


def test_stored_once_and_summarised(ledger: Ledger) -> None:
    xml = report_xml()
    with ledger.engine.begin() as conn:
        first = ingest(conn, ledger.tenant_id, gzipped(xml), "test", NOW, LIMIT)
        again = ingest(conn, ledger.tenant_id, xml, "test", NOW, LIMIT)
        other = ingest(conn, ledger.tenant_id, report_xml("r-2", org="yahoo.com", rows=[
            ("192.0.2.10", 30, "none", "fail", "pass")]), "test", NOW, LIMIT)
    assert (first.stored, first.records, again.duplicates, other.stored) == (1, 2, 1, 1)
    rows = summary(ledger.engine, ledger.tenant_id)
    top = rows[0]
    assert (top.header_from, top.source_ip, top.messages, top.dkim_pass, top.spf_pass, top.dmarc_pass,
            top.reports) == ("example.org", "192.0.2.10", 150, 120, 150, 150, 2)
    assert rows[1].rejected == 3 and rows[1].dmarc_pass == 0
    assert summary(ledger.engine, ledger.tenant_id, domains=["other.example"]) == []
    assert summary(ledger.engine, ledger.tenant_id, since=datetime(2027, 1, 1)) == []


def test_a_refused_report_stores_nothing(ledger: Ledger) -> None:
    # One good report and one truncated one in the same email: neither is kept.
    message = email.message_from_bytes(in_email(gzipped(report_xml("good"))), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(gzipped(report_xml("bad"))[:-10], maintype="application", subtype="gzip",
                           filename="bad.xml.gz")
    with pytest.raises(DmarcRefused, match="truncated gzip"), ledger.engine.begin() as conn:
        ingest(conn, ledger.tenant_id, message.as_bytes(), "test", NOW, LIMIT)
    assert summary(ledger.engine, ledger.tenant_id) == []


_xml = report_xml()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda cut, junk: _xml[:cut] + junk + _xml[cut:], st.integers(0, len(_xml)),
              st.binary(max_size=20)),
    st.builds(lambda cut, junk: gzipped(_xml)[:cut] + junk, st.integers(0, 400), st.binary(max_size=20)),
    st.builds(lambda cut: zipped(_xml)[:cut], st.integers(0, 600)),
    st.text(max_size=300).map(lambda t: f"<feedback>{t}</feedback>".encode("utf-8", "surrogatepass")),
))
def test_fuzz_the_parser_never_fails_otherwise(data: bytes) -> None:
    try:
        reports = read_reports(data, LIMIT)
    except DmarcRefused as exc:
        assert exc.message
        return
    for report in reports:
        assert report.org_name and report.report_id and report.domain
