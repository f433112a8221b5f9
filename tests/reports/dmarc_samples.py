"""DMARC aggregate report samples for the tests and the bench."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.message import EmailMessage


def report_xml(report_id: str = "r-1", org: str = "google.com", domain: str = "example.org",
               rows: list[tuple[str, int, str, str, str]] | None = None, begin: int = 1767571200,
               namespace: str = "") -> bytes:
    rows = rows if rows is not None else [("192.0.2.10", 120, "none", "pass", "pass"),
                                          ("198.51.100.7", 3, "reject", "fail", "fail")]
    records = "".join(f"""
  <record>
    <row><source_ip>{ip}</source_ip><count>{count}</count>
      <policy_evaluated><disposition>{disp}</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated>
    </row>
    <identifiers><header_from>{domain}</header_from></identifiers>
    <auth_results>
      <dkim><domain>{domain}</domain><result>{dkim}</result><selector>s1</selector></dkim>
      <spf><domain>{domain}</domain><result>{spf}</result></spf>
    </auth_results>
  </record>""" for ip, count, disp, dkim, spf in rows)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<feedback{xmlns}>
  <report_metadata>
    <org_name>{org}</org_name><email>noreply-dmarc-support@{org}</email>
    <report_id>{report_id}</report_id>
    <date_range><begin>{begin}</begin><end>{begin + 86399}</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>{domain}</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp><pct>100</pct>
  </policy_published>{records}
</feedback>""".encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data)


def zipped(data: bytes, name: str = "google.com!example.org!1767571200!1767657599.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def in_email(attachment: bytes, filename: str = "report.xml.gz", ctype: str = "application/gzip") -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@google.com"
    message["To"] = "dmarc@bounce.localhost"
    message["Subject"] = "Report domain: example.org Submitter: google.com Report-ID: <r-1>"
    message.set_content("This is an aggregate report from google.com.")
    maintype, subtype = ctype.split("/")
    message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
