"""What the pages show, worked out from ledger rows: plain words for reason classes,
badges and their explanations, the filter of the suppression list read from a query
string, alerts grouped by provider. Pure: no request, no database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from postwarden.classify.reasons import REASONS
from postwarden.ledger import policy
from postwarden.ledger.service import SuppressionFilter
from postwarden.reports.providers import provider_for_domain, provider_for_mx, provider_label
from postwarden.verify.result import Verification

CLASS_LABELS: Mapping[str, str] = {
    "complaint": "Spam complaint",
    "hard_bounce": "Hard bounce",
    "soft_bounce": "Soft bounces",
    "unsubscribe": "Unsubscribed",
    "invalid": "Invalid address",
    "manual": "Suppressed by hand",
}

# Badge colours: red when the address itself is refused for good, amber when it may
# come back by itself, slate for the recipient's own choice.
CLASS_TONES: Mapping[str, str] = {
    "complaint": "red", "hard_bounce": "red", "invalid": "red",
    "soft_bounce": "amber", "manual": "slate", "unsubscribe": "slate",
}

# What each class means, said to support staff rather than to a programmer.
CLASS_WHY: Mapping[str, str] = {
    "complaint": "The recipient reported a message as spam. That withdraws their consent: "
                 "nothing is sent until they confirm they want the mail again.",
    "hard_bounce": "The recipient's mail server said this address does not exist or takes no mail. "
                   "If the address was mistyped, correct it, then check again.",
    "soft_bounce": "Several messages in a row could not be delivered for the time being "
                   "(full mailbox, server busy). This ends by itself.",
    "unsubscribe": "The recipient unsubscribed. Only they can sign up again; "
                   "support staff cannot undo an unsubscribe.",
    "invalid": "The address is not one mail can be delivered to (bad form, or a domain that "
               "takes no mail). Correct it, then check again.",
    "manual": "An operator stopped mail to this address by hand.",
}

MESSAGE_TONES: Mapping[str, str] = {
    "sent": "blue", "delivered": "green", "deferred": "amber", "bounced": "red",
    "complained": "red", "unsubscribed": "slate",
}

# What the policy did with a piece of feedback (its disposition), in words.
EFFECT_LABELS: Mapping[str, str] = {
    "suppress": "Stopped mail", "count": "Counted toward a block", "alert": "Sender-side alert",
    "reset": "Reset the bounce count", "record": "Recorded", "duplicate": "Already known",
}

CONSENT_METHOD_LABELS: Mapping[str, str] = {
    "email": "By email from the recipient", "phone": "On the phone with the recipient",
    "form": "Through a signed form", "ticket": "In a help-desk ticket from the recipient",
}

# Sender-side reasons grouped as a postmaster desk reads them.
ALERT_KINDS: Mapping[str, str] = {
    "blocked": "Blocks", "norelaying": "Blocks", "rejected": "Blocks", "policyviolation": "Blocks",
    "requireptr": "Authentication", "authfailure": "Authentication", "failedstarttls": "Authentication",
    "securityerror": "Authentication",
    "badreputation": "Reputation", "spamdetected": "Reputation", "virusdetected": "Reputation",
    "speeding": "Rate limits", "toomanyconn": "Rate limits", "ratelimited": "Rate limits",
}
ALERT_KIND_ORDER = ("Blocks", "Reputation", "Authentication", "Rate limits", "Other")

BOUNCE_REASONS: tuple[tuple[str, str], ...] = tuple(
    (r.name, r.description) for r in REASONS if not r.sender_side)
REASON_DESCRIPTIONS: Mapping[str, str] = {r.name: r.description for r in REASONS}


def class_label(reason_class: str | None) -> str:
    return CLASS_LABELS.get(reason_class or "", reason_class or "")


def when(value: datetime | str | None) -> str:
    """A time as people read it in a table: 2026-11-22 17:04 UTC."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.removesuffix("Z"))
    return value.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Badge:
    label: str
    tone: str
    why: str
    since: str

    @property
    def tooltip(self) -> str:
        return f"{self.why} Since {self.since}." if self.since else self.why


def status_badge(status: Mapping[str, Any]) -> Badge:
    """The badge for one scope's entry of a contact card's ``status``."""
    if status["verdict"] == "allowed":
        return Badge("Can receive mail", "green", "Nothing stops mail to this address.", "")
    cls = status["reason_class"]
    why = CLASS_WHY.get(cls, "")
    if status.get("reason"):
        described = REASON_DESCRIPTIONS.get(status["reason"], status["reason"])
        why = f"{why} Reported reason: {described}."
    if status.get("expires_at"):
        why = f"{why} Ends {when(status['expires_at'])}."
    return Badge(class_label(cls), CLASS_TONES.get(cls, "slate"), why, when(status.get("since")))


@dataclass
class ListQuery:
    """The suppression list's filter as the form holds it, and what was wrong with it."""

    reason_class: str = ""
    bounce_reason: str = ""
    scope: str = ""
    since: str = ""
    until: str = ""
    match: str = ""
    state: str = "active"
    after: int | None = None
    page: int = 1
    problems: list[str] = field(default_factory=list)

    def filter(self) -> SuppressionFilter:
        since = _day(self.since, "From", self.problems)
        until = _day(self.until, "To", self.problems)
        return SuppressionFilter(
            reason_classes=[self.reason_class] if self.reason_class else None,
            bounce_reason=self.bounce_reason or None, scope=self.scope or None,
            since=datetime.combine(since, datetime.min.time()) if since else None,
            # The "to" day is included: rows created before the next midnight.
            until=datetime.combine(until + timedelta(days=1), datetime.min.time()) if until else None,
            match=self.match.strip().lower() or None,
            state=None if self.state == "all" else self.state)

    def params(self, **changes: Any) -> str:
        """The query string of this filter, with ``changes``; empty values left out."""
        values = {"reason_class": self.reason_class, "bounce_reason": self.bounce_reason,
                  "scope": self.scope, "since": self.since, "until": self.until, "match": self.match,
                  "state": self.state if self.state != "active" else "", **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    @property
    def filtered(self) -> bool:
        return bool(self.reason_class or self.bounce_reason or self.scope or self.since or self.until
                    or self.match or self.state != "active")


def list_query(params: Mapping[str, str]) -> ListQuery:
    text = {name: params.get(name, "").strip() for name in
            ("reason_class", "bounce_reason", "scope", "since", "until", "match")}
    query = ListQuery(text["reason_class"], text["bounce_reason"], text["scope"], text["since"],
                      text["until"], text["match"])
    state = params.get("state", "active")
    query.state = state if state in ("active", "lifted", "all") else "active"
    if query.reason_class and query.reason_class not in policy.REASON_CLASSES:
        query.problems.append(f"There is no reason {query.reason_class!r}; pick one from the list.")
        query.reason_class = ""
    for name in ("after", "page"):
        raw = params.get(name, "")
        if raw.isdigit():
            setattr(query, name, int(raw))
    return query


def _day(text: str, label: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{label} date {text!r} is not a date like 2026-01-31.")
        return None


@dataclass(frozen=True)
class ConsentForm:
    confirmed_by: str = ""
    method: str = ""
    ticket: str = ""
    evidence: str = ""

    def errors(self) -> dict[str, str]:
        """What is missing, per field, in the words the form uses."""
        found = {}
        if not self.confirmed_by.strip():
            found["confirmed_by"] = "Say who confirmed with the recipient."
        if self.method not in policy.CONSENT_METHODS:
            found["method"] = "Choose how the recipient confirmed."
        if not self.evidence.strip():
            found["evidence"] = "Paste or describe the recipient's confirmation."
        return found


@dataclass
class ProviderAlerts:
    provider: str
    counts: Counter[str] = field(default_factory=Counter)
    latest: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def alert_kind(reason: str | None, feedback_type: str | None) -> str:
    if feedback_type in ("auth-failure", "dmarc"):
        return "Authentication"
    return ALERT_KINDS.get(reason or "", "Other")


def provider_of(remote_mta: str | None, address: str) -> str:
    """The mailbox provider an alert came from: by the host that answered, else by
    the recipient's domain; hosts nobody knows are shown by their own name."""
    name = provider_for_mx([remote_mta]) if remote_mta else None
    name = name or provider_for_domain(address.rpartition("@")[2])
    if name:
        return provider_label(name)
    return remote_mta or address.rpartition("@")[2] or "unknown"


def alerts_by_provider(alerts: Iterable[Any]) -> list[ProviderAlerts]:
    """Alert rows (feedback events) summed per provider and kind, busiest first."""
    grouped: dict[str, ProviderAlerts] = {}
    for row in alerts:
        provider = provider_of(row.remote_mta, row.address)
        entry = grouped.setdefault(provider, ProviderAlerts(provider))
        entry.counts[alert_kind(row.reason, row.feedback_type)] += 1
        if entry.latest is None or row.occurred_at > entry.latest:
            entry.latest = row.occurred_at
    return sorted(grouped.values(), key=lambda p: (-p.total, p.provider))


def recheck_message(passed: bool, verification: Verification) -> str:
    """What "Check again" found, in a sentence or two."""
    if passed:
        return (f"Checked again: {verification.address} can receive mail, so the block is lifted. "
                "If a message to it bounces for good again, it is blocked again.")
    found = f"Checked again: still blocked. {verification.why[:1].upper()}{verification.why[1:]}."
    if verification.suggestion:
        found += (f" If the recipient meant {verification.suggestion}, correct the address in your "
                  "records and send to that one.")
    return found
