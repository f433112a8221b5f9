"""What a spam click can tell the sender: an unsubscribe (for mail the user asked for
once, where unsubscribing is what works) or a complaint report (ARF, RFC 5965).

* :func:`list_unsubscribe` reads ``List-Unsubscribe`` / ``List-Unsubscribe-Post``;
  :func:`one_click_unsubscribe` makes the RFC 8058 POST for the user.
* :func:`arf_report` writes the complaint: a ``multipart/report`` with a readable part,
  the ``message/feedback-report`` fields, and the reported message's header (not its
  body). The user's address is redacted as RFC 6590 allows: wherever it appears as an
  address, its local part becomes ``*redacted*``. Tokens a sender put in its own
  addresses (VERP return paths) are left alone; they are how the sender finds whom to
  stop mailing, the purpose of the report.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

import httpx

from postwarden import __version__
from postwarden.mailbox.headers import field_name, split_header
from postwarden.mailbox.message import MailView

# --- List-Unsubscribe --------------------------------------------------------------------

_BRACKETED = re.compile(r"<([^<>\s]{1,2000})>")


@dataclass(frozen=True)
class Unsubscribe:
    urls: tuple[str, ...]
    mailtos: tuple[str, ...]
    one_click: bool
    """``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` with an HTTPS link (RFC 8058)."""

    def hint(self) -> str:
        how = ("postwarden can unsubscribe you in one click" if self.one_click
               else "use the sender's unsubscribe link")
        return ("You trust this sender, so a spam click does not change where its mail goes. "
                f"This is a mailing you can leave: {how}.")

    def to_json(self) -> dict[str, object]:
        return {"urls": list(self.urls), "mailto": list(self.mailtos), "one_click": self.one_click,
                "hint": self.hint()}


def list_unsubscribe(view: MailView, allow_http: bool = False) -> Unsubscribe | None:
    """The message's unsubscribe methods, or ``None`` when it offers none. Never raises."""
    value = view.header("list-unsubscribe")
    if not value:
        return None
    links = _BRACKETED.findall(value)[:5]
    urls = tuple(u for u in links if u.lower().startswith("https://")
                 or (allow_http and u.lower().startswith("http://")))
    mailtos = tuple(u for u in links if u.lower().startswith("mailto:"))
    if not urls and not mailtos:
        return None
    post = (view.header("list-unsubscribe-post") or "").replace(" ", "").lower()
    return Unsubscribe(urls, mailtos, bool(urls) and post == "list-unsubscribe=one-click")


@dataclass(frozen=True)
class UnsubscribeOutcome:
    done: bool
    url: str
    status: int | None
    detail: str


def one_click_unsubscribe(unsubscribe: Unsubscribe, timeout: float = 10.0) -> UnsubscribeOutcome:
    """The RFC 8058 POST: ``List-Unsubscribe=One-Click`` to the first link, no cookies,
    no redirects followed (the RFC's receiver is a machine, not a browser)."""
    if not unsubscribe.one_click:
        return UnsubscribeOutcome(False, "", None, "the sender offers no one-click unsubscribe")
    url = unsubscribe.urls[0]
    try:
        response = httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=timeout,
                              follow_redirects=False,
                              headers={"User-Agent": f"postwarden/{__version__} (RFC 8058 one-click)"})
    except httpx.HTTPError as exc:
        return UnsubscribeOutcome(False, url, None, f"the unsubscribe request failed: {exc}")
    ok = 200 <= response.status_code < 300
    return UnsubscribeOutcome(ok, url, response.status_code,
                              "unsubscribed" if ok else f"the sender answered {response.status_code}")


# --- ARF -----------------------------------------------------------------------------------

REDACTED_LOCAL = "*redacted*"
"""What the recipient's local part becomes. RFC 6590 leaves the string to the reporter;
asterisks tell a report reader (ours among them) that no real address is given."""


def _redact(text: str, address: str) -> str:
    local, _, domain = address.rpartition("@")
    if not local:
        return text
    return re.sub(re.escape(local) + "@" + re.escape(domain), f"{REDACTED_LOCAL}@{domain}", text, flags=re.I)


def _original_header(raw: bytes, recipient: str) -> str:
    fields, _, _ = split_header(raw[:64 * 1024])
    lines: list[str] = []
    for field in fields[:200]:
        name = field_name(field)
        if not name or name.startswith(b"x-spam-"):
            continue
        text = field.decode("utf-8", errors="replace").rstrip("\r\n").replace("\r\n", "\n")
        lines.append(_redact(text, recipient))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Complaint:
    """What a report says about the reported message."""

    recipient: str
    reported_domain: str
    source_ip: str | None
    mail_from: str | None
    reporter: str
    """The address the report comes from (our abuse or feedback address)."""


def arf_report(raw: bytes, complaint: Complaint, to: str) -> bytes:
    """The complaint report, ready to send to ``to``."""
    boundary = "arf-" + make_msgid().strip("<>").split("@")[0].replace(".", "")
    now = datetime.now(UTC)
    redacted = _redact(complaint.recipient, complaint.recipient)
    fields = [
        "Feedback-Type: abuse",
        f"User-Agent: postwarden/{__version__}",
        "Version: 1",
    ]
    if complaint.mail_from:
        fields.append(f"Original-Mail-From: <{_redact(complaint.mail_from, complaint.recipient)}>")
    fields.append(f"Original-Rcpt-To: <{redacted}>")
    fields.append(f"Reported-Domain: {complaint.reported_domain}")
    if complaint.source_ip:
        fields.append(f"Source-IP: {complaint.source_ip}")
    text = "\n".join([
        f"From: {complaint.reporter}",
        f"To: {to}",
        f"Subject: Complaint about mail from {complaint.reported_domain}",
        f"Date: {format_datetime(now)}",
        f"Message-ID: {make_msgid(domain=complaint.reporter.rpartition('@')[2] or None)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"A user of this mail service marked a message from {complaint.reported_domain} as spam.",
        "The recipient's address is redacted (RFC 6590). Please stop sending them mail.",
        "",
        f"--{boundary}",
        "Content-Type: message/feedback-report",
        "",
        *fields,
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
        _original_header(raw, complaint.recipient),
        f"--{boundary}--",
        "",
    ])
    return text.replace("\n", "\r\n").encode("utf-8")


def send_report(report: bytes, sender: str, to: str, upstream: str, timeout: float = 30.0) -> str:
    """Hand the report to the upstream SMTP server (``host:port``); returns its reply."""
    host, _, port = upstream.rpartition(":")
    with smtplib.SMTP(host or upstream, int(port or 25), timeout=timeout) as smtp:
        smtp.ehlo_or_helo_if_needed()
        smtp.sendmail(sender, [to], report)
    return f"accepted by {upstream}"
