"""DMARC aggregate reports (RFC 7489 appendix C): unpacked, parsed and stored per
source IP and header-from domain.

A report arrives as XML, gzip, zip, or an email carrying one of those. Everything
about it is untrusted: decompression stops at ``dmarc_max_bytes`` whatever the
archive claims, zip archives may hold only a few plain XML members, and the XML is
parsed by defusedxml with DTDs forbidden, so entity expansion ("billion laughs") and
external entities are refused before anything is expanded. A report that cannot be
read raises :class:`DmarcRefused` naming why; nothing half-read is stored.
"""

from __future__ import annotations

import email
import email.policy
import io
import ipaddress
import json
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml
from sqlalchemy import Connection, Engine, case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from postwarden.errors import InvalidInput
from postwarden.ledger.models import DMARC_RECORDS, DMARC_REPORTS

MAX_ZIP_MEMBERS = 8
MAX_RECORDS = 100_000
MAX_TEXT = 255
_CHUNK = 64 * 1024


class DmarcRefused(InvalidInput):
    code = "dmarc_refused"


@dataclass(frozen=True)
class AuthResult:
    method: str  # dkim / spf
    domain: str
    result: str
    selector: str | None = None


@dataclass(frozen=True)
class DmarcRow:
    source_ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    header_from: str
    auth: tuple[AuthResult, ...] = ()


@dataclass(frozen=True)
class AggregateReport:
    org_name: str
    report_id: str
    domain: str
    date_begin: datetime
    date_end: datetime
    policy: dict[str, str]
    rows: tuple[DmarcRow, ...] = field(default=())


# ---- unpacking -----------------------------------------------------------------------

def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    source = memoryview(data)
    try:
        while source and not inflater.eof:
            out += inflater.decompress(source[:_CHUNK], limit + 1 - len(out))
            if len(out) > limit:
                raise DmarcRefused(f"gzip expands beyond {limit} bytes: refused as a possible bomb")
            consumed = min(len(source), _CHUNK) - len(inflater.unconsumed_tail)
            source = source[consumed:]
            if inflater.unconsumed_tail and not consumed:
                raise DmarcRefused("gzip data does not progress")
    except zlib.error as exc:
        raise DmarcRefused(f"broken gzip data ({exc})") from None
    if not inflater.eof:
        raise DmarcRefused("truncated gzip data")
    return bytes(out)


def _unzip(data: bytes, limit: int) -> list[bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ZIP_MEMBERS:
            raise DmarcRefused(f"zip holds {len(members)} files; a report has one")
        found = []
        total = 0
        for member in members:
            if member.flag_bits & 0x1:
                raise DmarcRefused(f"zip member {member.filename!r} is encrypted")
            with archive.open(member) as fh:
                # Read to the limit whatever the header says the size is.
                body = fh.read(limit + 1 - total)
            total += len(body)
            if total > limit:
                raise DmarcRefused(f"zip expands beyond {limit} bytes: refused as a possible bomb")
            found.append(body)
        return found
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise DmarcRefused(f"broken zip archive ({exc})") from None


def _attachments(data: bytes) -> list[bytes]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if ctype.endswith(("zip", "gzip", "xml")) or name.endswith((".zip", ".gz", ".xml")):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append(payload)
    if not found:
        raise DmarcRefused("the email carries no zip, gzip or XML attachment")
    return found


def unpack(data: bytes, limit: int, *, in_email: bool = False) -> list[bytes]:
    """The XML documents in ``data``: itself, decompressed, or an email's attachments."""
    if len(data) > limit:
        raise DmarcRefused(f"{len(data)} bytes is over the limit of {limit}")
    head = data[:4]
    if head[:2] == b"\x1f\x8b":
        inner = _gunzip(data, limit)
        if inner[:2] in (b"\x1f\x8b", b"PK"):
            raise DmarcRefused("archive inside an archive: refused")
        return [inner]
    if head == b"PK\x03\x04":
        found = _unzip(data, limit)
        if any(d[:2] in (b"\x1f\x8b", b"PK") for d in found):
            raise DmarcRefused("archive inside an archive: refused")
        return found
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        return [data]
    if b":" in data[:1000] and not in_email:
        return [doc for part in _attachments(data) for doc in unpack(part, limit, in_email=True)]
    raise DmarcRefused("neither XML, gzip, zip nor an email")


# ---- parsing -------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(node: Element | None, name: str) -> Element | None:
    if node is None:
        return None
    for child in node:
        if _local(child.tag) == name:
            return child
    return None


def _children(node: Element | None, name: str) -> Iterator[Element]:
    if node is not None:
        yield from (c for c in node if _local(c.tag) == name)


def _text(node: Element | None, *path: str, required: str | None = None) -> str:
    for name in path:
        node = _child(node, name)
    value = (node.text or "").strip() if node is not None else ""
    if not value and required:
        raise DmarcRefused(f"the report has no {required}")
    return value[:MAX_TEXT]


def _time(text: str, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(text), UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        raise DmarcRefused(f"{what} {text[:40]!r} is not a Unix time") from None


def parse_report(xml: bytes) -> AggregateReport:
    """One aggregate report from its XML; DmarcRefused for anything else."""
    try:
        root = parse_xml(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DmarcRefused(f"XML with a DTD or entities is refused ({type(exc).__name__})") from None
    except ParseError as exc:
        raise DmarcRefused(f"not well-formed XML ({exc})") from None
    except (ValueError, LookupError) as exc:
        raise DmarcRefused(f"XML in an unreadable encoding ({exc})") from None
    if _local(root.tag) != "feedback":
        raise DmarcRefused(f"XML whose root is <{_local(root.tag)[:40]}>, not a DMARC <feedback> report")
    meta = _child(root, "report_metadata")
    published = _child(root, "policy_published")
    begin = _time(_text(meta, "date_range", "begin", required="date_range/begin"), "begin")
    end = _time(_text(meta, "date_range", "end", required="date_range/end"), "end")
    policy = {k: _text(published, k) for k in ("adkim", "aspf", "p", "sp", "pct", "np")}
    rows: list[DmarcRow] = []
    for record in _children(root, "record"):
        if len(rows) >= MAX_RECORDS:
            raise DmarcRefused(f"more than {MAX_RECORDS} records")
        rows.append(_row(record))
    return AggregateReport(
        org_name=_text(meta, "org_name", required="org_name"),
        report_id=_text(meta, "report_id", required="report_id"),
        domain=_text(published, "domain", required="policy_published/domain").lower(),
        date_begin=begin, date_end=end, policy={k: v for k, v in policy.items() if v}, rows=tuple(rows))


def _row(record: Element) -> DmarcRow:
    row = _child(record, "row")
    ip = _text(row, "source_ip", required="record source_ip")
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        raise DmarcRefused(f"source_ip {ip[:45]!r} is not an IP address") from None
    try:
        count = int(_text(row, "count", required="record count"))
    except ValueError:
        raise DmarcRefused("a record's count is not a number") from None
    if not 0 <= count < 2**31:
        raise DmarcRefused(f"a record's count {count} is out of range")
    evaluated = _child(row, "policy_evaluated")
    auth = _child(record, "auth_results")
    results = tuple(
        AuthResult(method, _text(node, "domain").lower(), _text(node, "result").lower(),
                   _text(node, "selector") or None)
        for method in ("dkim", "spf") for node in _children(auth, method))
    return DmarcRow(ip, count, _text(evaluated, "disposition").lower()[:20] or "none",
                    _text(evaluated, "dkim").lower()[:10] or "none",
                    _text(evaluated, "spf").lower()[:10] or "none",
                    _text(record, "identifiers", "header_from").lower(), results)


def read_reports(data: bytes, limit: int) -> list[AggregateReport]:
    return [parse_report(doc) for doc in unpack(data, limit)]


# ---- storing -------------------------------------------------------------------------

def store(conn: Connection, tenant_id: int, report: AggregateReport, source: str, now: datetime) -> bool:
    """Store a report unless the same (reporter, report id) is stored; True if new."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    report_pk = conn.execute(insert(DMARC_REPORTS).values(
        tenant_id=tenant_id, org_name=report.org_name, report_id=report.report_id, domain=report.domain,
        date_begin=report.date_begin, date_end=report.date_end, policy=json.dumps(report.policy),
        source=source[:200], received_at=now,
    ).on_conflict_do_nothing(index_elements=["tenant_id", "org_name", "report_id"])
        .returning(DMARC_REPORTS.c.id)).scalar()
    if report_pk is None:
        return False
    if report.rows:
        conn.execute(DMARC_RECORDS.insert(), [{
            "tenant_id": tenant_id, "report_id": report_pk, "source_ip": r.source_ip,
            "header_from": r.header_from or report.domain, "count": r.count, "disposition": r.disposition,
            "dkim": r.dkim, "spf": r.spf,
            "auth_results": json.dumps([{"method": a.method, "domain": a.domain, "result": a.result,
                                         "selector": a.selector} for a in r.auth]),
        } for r in report.rows])
    return True


@dataclass
class Ingested:
    stored: int = 0
    duplicates: int = 0
    records: int = 0


def ingest(conn: Connection, tenant_id: int, data: bytes, source: str, now: datetime,
           limit: int) -> Ingested:
    """Unpack, parse and store every report in ``data`` (all or nothing)."""
    result = Ingested()
    for report in read_reports(data, limit):
        if store(conn, tenant_id, report, source, now):
            result.stored += 1
            result.records += len(report.rows)
        else:
            result.duplicates += 1
    return result


# ---- reading -------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceSummary:
    header_from: str
    source_ip: str
    messages: int
    dkim_pass: int
    spf_pass: int
    dmarc_pass: int
    quarantined: int
    rejected: int
    reports: int


def summary(engine: Engine, tenant_id: int, since: datetime | None = None,
            domains: Sequence[str] | None = None, limit: int = 500) -> list[SourceSummary]:
    """Per header-from domain and source IP: messages and how they fared, busiest first."""
    r, d = DMARC_RECORDS, DMARC_REPORTS

    def messages(condition: Any) -> Any:
        return func.sum(case((condition, r.c.count), else_=0))

    query = (select(r.c.header_from, r.c.source_ip, func.sum(r.c.count), messages(r.c.dkim == "pass"),
                    messages(r.c.spf == "pass"), messages((r.c.dkim == "pass") | (r.c.spf == "pass")),
                    messages(r.c.disposition == "quarantine"), messages(r.c.disposition == "reject"),
                    func.count(func.distinct(r.c.report_id)))
             .join(d, d.c.id == r.c.report_id).where(r.c.tenant_id == tenant_id))
    if since is not None:
        query = query.where(d.c.date_end >= since)
    if domains:
        query = query.where(r.c.header_from.in_(list(domains)))
    query = query.group_by(r.c.header_from, r.c.source_ip).order_by(func.sum(r.c.count).desc()).limit(limit)
    with engine.connect() as conn:
        return [SourceSummary(row[0], row[1], *(int(v or 0) for v in row[2:]))
                for row in conn.execute(query)]
