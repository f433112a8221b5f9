"""Reading RFC 3464 delivery-status fields, wherever they turn up: in a proper
``message/delivery-status`` part, or pasted into a text part by a sloppy MTA."""

from __future__ import annotations

import re

from postwarden.parse.decoder import Finding
from postwarden.parse.message import clean_address, first_address

_RECIPIENT_FIELDS = {
    "final-recipient",
    "original-recipient",
    "x-actual-recipient",
    "action",
    "status",
    "remote-mta",
    "diagnostic-code",
    "last-attempt-date",
    "will-retry-until",
    "x-supplementary-info",
    "x-display-name",
    "x-powermta-bouncecategory",
}
_STATUS_COMMENT = re.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3}\s*\((?P<c>[^()]{3,200})\)")

# PowerMTA's bounce categories (X-PowerMTA-BounceCategory) and the reasons they
# name. PowerMTA sorts every failure into one of these before writing the DSN:
#   X-PowerMTA-BounceCategory: bad-mailbox
BOUNCE_CATEGORIES: dict[str, str] = {
    "bad-domain": "hostunknown",
    "bad-mailbox": "userunknown",
    "inactive-mailbox": "suspend",
    "message-expired": "expired",
    "no-answer-from-host": "networkerror",
    "policy-related": "policyviolation",
    "quota-issues": "mailboxfull",
    "routing-errors": "systemerror",
    "spam-related": "spamdetected",
}
_DSN_MARK = re.compile(r"(?im)^(?:final-recipient|original-recipient)\s*:")
# "<@relay.example:a@b.example>": an RFC 821 source route before the address.
_SOURCE_ROUTE = re.compile(r"^<?(?:@[^:,<>\s]+[,:])+")
_STATUS_VALUE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


def parse_fields(text: str) -> list[list[tuple[str, str]]]:
    """Split DSN text into groups of (lower-case name, value), one group per
    blank-line-separated block; folded lines are joined."""
    groups: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for line in text[:256 * 1024].split("\n"):
        if not line.strip():
            if current:
                groups.append(current)
                current = []
            continue
        if line[0] in " \t":
            if current:
                name, value = current[-1]
                current[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name.strip() and len(name) < 40:
            current.append((name.strip().lower(), value.strip()))
        elif current:
            # a wrapped line without leading space: part of the previous value
            name, value = current[-1]
            if name == "diagnostic-code":
                current[-1] = (name, f"{value} {line.strip()}")
    if current:
        groups.append(current)
    return groups


def strip_type(value: str) -> str:
    """``rfc822; a@b`` -> ``a@b``; ``smtp; 550 ...`` -> ``550 ...``."""
    head, sep, rest = value.partition(";")
    if sep and len(head) < 40 and " " not in head.strip():
        return rest.strip()
    return value.strip()


def normalise_status(value: str) -> str | None:
    match = _STATUS_VALUE.search(value)
    if match is None:
        return None
    return f"{match.group(1)}.{int(match.group(2))}.{int(match.group(3))}"


def recipient_groups(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(per-message fields, per-recipient field dicts) from DSN text."""
    per_message: dict[str, str] = {}
    recipients: list[dict[str, str]] = []
    for group in parse_fields(text):
        current: dict[str, str] = {}
        for name, value in group:
            if name in ("final-recipient", "original-recipient") and name in current and (
                name == "final-recipient" or "final-recipient" in current
            ):
                recipients.append(current)
                current = {}
            if name in current and name not in ("final-recipient", "original-recipient"):
                if name == "diagnostic-code":
                    current[name] += " " + value
                continue
            if name not in _RECIPIENT_FIELDS and not recipients and "final-recipient" not in current:
                per_message.setdefault(name, value)
                continue
            current[name] = value
        if current and ("final-recipient" in current or "original-recipient" in current
                        or "status" in current or "action" in current):
            recipients.append(current)
        elif current:
            for name, value in current.items():
                per_message.setdefault(name, value)
    return per_message, recipients


def findings_from_dsn(text: str) -> list[Finding]:
    per_message, recipients = recipient_groups(text)
    reporting = strip_type(per_message.get("reporting-mta", "")) or None
    arrival = per_message.get("arrival-date") or None
    out: list[Finding] = []
    for fields in recipients:
        routed = strip_type(fields.get("final-recipient", ""))
        final = _SOURCE_ROUTE.sub("", routed)
        original = strip_type(fields.get("original-recipient", ""))
        recipient = first_address(final) or first_address(original) or (
            clean_address(final) if final else None
        )
        if (recipient and final != routed and "." not in recipient.rpartition("@")[2]
                and first_address(original)):
            # "Final-recipient: rfc822;@relay.example:a@server": a source route
            # to the last hop's local name for the mailbox; the address the
            # sender used is the original recipient
            recipient = first_address(original)
        if not recipient:
            actual = strip_type(fields.get("x-actual-recipient", ""))
            recipient = first_address(actual)
        status = normalise_status(fields.get("status", ""))
        # "Status: 5.2.1 (mailbox disabled, not accepting messages)": the
        # reporting MTA's own words about the failure
        comment = _STATUS_COMMENT.match(fields.get("status", ""))
        category = fields.get("x-powermta-bouncecategory", "").strip().lower()
        raw_diagnostic = fields.get("diagnostic-code", "")
        diagnostic = strip_type(raw_diagnostic) or None
        if diagnostic and raw_diagnostic.lower().lstrip().startswith("x-unix"):
            # a local delivery program's exit status or error, not an SMTP reply:
            # keep the type so the classifier knows a mailer spoke
            diagnostic = f"x-unix; {diagnostic}"
        remote = strip_type(fields.get("remote-mta", "")) or None
        if remote:
            remote = remote.split()[0].strip("[]().")
        out.append(Finding(
            recipient=recipient,
            original_recipient=first_address(original) if original else None,
            action=(fields.get("action") or "").strip().lower().split(" ")[0] or None,
            status=status,
            diagnostic=" ".join(diagnostic.split()) if diagnostic else None,
            remote_mta=remote,
            reporting_mta=reporting,
            arrival_date=arrival,
            last_attempt_date=fields.get("last-attempt-date") or None,
            note=comment.group("c").strip() if comment else None,
            hint=BOUNCE_CATEGORIES.get(category),
        ))
    return out


def has_dsn_fields(text: str) -> bool:
    return _DSN_MARK.search(text[:200_000]) is not None
