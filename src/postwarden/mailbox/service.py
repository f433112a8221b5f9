"""The mailbox service: one tenant's filter with its state in the database, and what
the edges (the inbound proxy, the webmail API, the CLI) ask of it.

    mailbox = Mailbox(engine, tenant, settings)
    delivery = mailbox.receive(raw, Envelope(ip, helo, mail_from), "alice@example.org")
    delivery.verdict.action, delivery.message     # where it goes; the copy to store
    mailbox.report_spam(delivery.message, "alice@example.org", share=None)

A message is made *canonical* once on arrival: ``X-Spam-*`` and forged
``Authentication-Results`` under our own name are taken off, and our
``Authentication-Results`` is put on top. The filter classifies and learns the
canonical bytes; the delivered copy adds the ``X-Spam-*`` verdict on top of those, and
a click hands back the delivered copy, from which :func:`strip_verdict` recovers the
canonical bytes exactly.

The model lives in memory and in the database (``mailbox_filter_state``). Every click
saves it, with a revision number; before classifying (at most every
``mailbox_reload_seconds``) and before every click the stored revision is compared, so
processes sharing the database see each other's training. A save that finds another
process saved first reloads, learns the click again and saves again.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import dns.resolver
from sqlalchemy import Engine

from postwarden.errors import InvalidInput
from postwarden.ledger.service import utcnow
from postwarden.mailbox import auth
from postwarden.mailbox.db import MailboxDatabase
from postwarden.mailbox.feedback import (
    Complaint,
    Unsubscribe,
    arf_report,
    list_unsubscribe,
    one_click_unsubscribe,
    send_report,
)
from postwarden.mailbox.filter import SpamFilter
from postwarden.mailbox.headers import drop_fields, prepend, strip_verdict
from postwarden.mailbox.message import MailView, read_message
from postwarden.mailbox.model import LearnedModel, ModelParams
from postwarden.mailbox.rules import RuleDecision, Sender, SenderRule, decide
from postwarden.mailbox.verdict import Action, FilterPolicy, Verdict
from postwarden.resolver import make_resolver
from postwarden.settings import Settings

log = logging.getLogger(__name__)

MODEL_NAME = "global"
"""One model per tenant: global weights and every user's layer share one table."""

CONSENT_QUESTION = ("May we share this message with its sender and our spam-fighting partner, so they "
                    "can stop it at the source? Your address is removed from what we share.")


def mailbox_key(address: str) -> str:
    """Users are named by their address, lower case."""
    key = address.strip().strip("<>").lower()
    if "@" not in key or len(key) > 320 or any(c.isspace() for c in key):
        raise InvalidInput(f"{address!r} is not a mailbox address")
    return key


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    auth: auth.AuthResults
    rule: RuleDecision
    canonical: bytes

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "verdict": v.action.value, "score": round(v.score, 4), "probability": round(v.probability, 4),
            "abstained": v.abstained, "model_score": round(v.model_score, 4),
            "explanation": v.explain(),
            "reasons": [{"feature": r.feature, "weight": round(r.weight, 4), "source": r.source,
                         "description": r.description} for r in v.reasons],
            "authentication": {"source": self.auth.source, "spf": self.auth.result_of("spf"),
                               "dkim": self.auth.result_of("dkim"), "dmarc": self.auth.result_of("dmarc"),
                               "from_domain": self.auth.from_domain, "dmarc_policy": self.auth.dmarc_policy,
                               "results": [r.render() for r in self.auth.results]},
            "rule": None if self.rule.rule is None else {
                "kind": self.rule.rule.kind, "match": self.rule.rule.match, "value": self.rule.rule.value,
                "action": self.rule.rule.action.value},
        }


@dataclass(frozen=True)
class Delivery:
    classification: Classification
    message: bytes
    """The copy to store: the canonical message under the ``X-Spam-*`` verdict fields."""
    folder: str
    """``inbox`` or ``spam`` (nothing is stored for ``reject``)."""

    @property
    def verdict(self) -> Verdict:
        return self.classification.verdict


@dataclass
class ClickOutcome:
    """What a click did, for the webmail to show."""

    learned: bool
    trusted_sender: bool = False
    unsubscribe: dict[str, Any] | None = None
    consent: str | None = None
    consent_question: str | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"learned": self.learned, "trusted_sender": self.trusted_sender,
                "unsubscribe": self.unsubscribe, "consent": self.consent,
                "consent_question": self.consent_question, "reports": self.reports, "notes": self.notes}


def _drop_forged(authserv_id: str) -> Callable[[bytes, bytes], bool]:
    """Verdict fields from outside, and Authentication-Results claiming our name (RFC
    8601 section 5: a receiver removes those before adding its own)."""
    ours = authserv_id.lower().encode()

    def unwanted(name: bytes, field_bytes: bytes) -> bool:
        if name.startswith(b"x-spam-"):
            return True
        if name == b"authentication-results":
            value = field_bytes.split(b":", 1)[1].strip().lower()
            return value.split(b";", 1)[0].strip() == ours
        return False
    return unwanted


class Mailbox:
    def __init__(self, engine: Engine, tenant: str, settings: Settings, *,
                 resolver: dns.resolver.Resolver | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.db = MailboxDatabase(engine, tenant, clock)
        self.resolver = resolver or make_resolver(settings)
        self.authserv_id = str(settings.mailbox_authserv_id).lower()
        upstream = frozenset(s.lower() for s in settings.mailbox_trusted_authserv_ids)
        self.upstream = upstream
        self.params = ModelParams(bits=int(settings.mailbox_model_bits))
        self.policy = FilterPolicy(spam_at=float(settings.mailbox_spam_at))
        self._lock = threading.RLock()
        self._filter: SpamFilter | None = None
        self._revision = 0
        self._checked = 0.0

    # --- the model, kept in step with the database -----------------------------------------

    def _load(self) -> None:
        saved = self.db.load_state(MODEL_NAME)
        model = LearnedModel.from_bytes(saved.state) if saved else LearnedModel(self.params)
        self._filter = SpamFilter(model, self.policy)
        self._revision = saved.revision if saved else 0
        self._checked = time.monotonic()

    def spam_filter(self, fresh: bool = False) -> SpamFilter:
        """The filter, reloaded when another process saved a newer model (checked at once
        with ``fresh``, else at most every ``mailbox_reload_seconds``)."""
        with self._lock:
            due = time.monotonic() - self._checked >= float(self.settings.mailbox_reload_seconds)
            if self._filter is None or ((fresh or due) and self.db.revision(MODEL_NAME) != self._revision):
                self._load()
            elif fresh or due:
                self._checked = time.monotonic()
            assert self._filter is not None
            return self._filter

    def _learn(self, canonical: bytes, mailbox: str, is_spam: bool) -> bool:
        with self._lock:
            for _ in range(5):
                spam_filter = self.spam_filter(fresh=True)
                trainings = spam_filter.model.trainings
                changed = spam_filter.learn(canonical, is_spam=is_spam, user=mailbox)
                if spam_filter.model.trainings == trainings:
                    return False  # a repeated click: nothing to save
                # saved even when no weight moved: the click journal and counts did
                if self.db.save_state(MODEL_NAME, spam_filter.model.to_bytes(), self._revision):
                    self._revision += 1
                    return changed
                self._filter = None  # another process saved first: learn on top of theirs
            raise RuntimeError("the filter model kept changing under this click; try again")

    # --- classifying -------------------------------------------------------------------------------


    def _sender(self, view: MailView, envelope: auth.Envelope | None, results: auth.AuthResults) -> Sender:
        address = _address(view.header("from") or "")
        return Sender(address=address, envelope=_address(envelope.mail_from) if envelope else None,
                      ip=envelope.client_ip if envelope else None,
                      authenticated_from=results.result_of("dmarc") != "fail")

    def classify(self, raw: bytes, mailbox: str, envelope: auth.Envelope | None = None,
                 explain: int = 8) -> Classification:
        """Where ``raw`` goes for ``mailbox``. ``raw`` may be a fresh arrival (checked
        here, or by a trusted upstream) or a copy we delivered (its own results reused)."""
        mailbox = mailbox_key(mailbox)
        base = strip_verdict(raw)
        view = read_message(base)
        # A copy we delivered starts with our own results: reuse them. Anything else is
        # a new arrival, and results claiming our name further down are forged.
        ours = None if envelope else auth.from_upstream(view, frozenset({self.authserv_id}), first_only=True)
        if ours is not None:
            results, canonical = ours, base
        else:
            base = drop_fields(base, _drop_forged(self.authserv_id))
            view = read_message(base)
            results = auth.from_upstream(view, self.upstream) or auth.check(
                base, view, envelope or auth.Envelope(), self.resolver)
            added = [("Authentication-Results", results.header(self.authserv_id))]
            if envelope is not None and envelope.client_ip:
                # RFC 7208 section 9.1; it also records the client for complaint reports
                added.append(("Received-SPF", f"{results.result_of('spf')} client-ip={envelope.client_ip}; "
                                              f"helo={envelope.helo or 'unknown'}; "
                                              f"envelope-from=<{envelope.mail_from}>"))
            canonical = prepend(base, added)
        decision = decide(self.db.rules(mailbox), self._sender(view, envelope, results))
        signals = [*auth.auth_signals(results), *decision.signals]
        verdict = self.spam_filter().classify(canonical, user=mailbox, signals=signals, explain=explain)
        if decision.action is not None:
            verdict = replace(verdict, action=decision.action)
        return Classification(verdict, results, decision, canonical)

    def receive(self, raw: bytes, envelope: auth.Envelope, mailbox: str) -> Delivery:
        """A message arriving for ``mailbox``: its verdict and the copy to store."""
        found = self.classify(raw, mailbox, envelope)
        v = found.verdict
        folder = "spam" if v.action is not Action.INBOX else "inbox"
        reasons = "; ".join(f"{r.feature} [{r.source}] {r.weight:+.2f}" for r in v.reasons[:5]) or "none"
        fields = [
            ("X-Spam-Verdict", v.action.value),
            ("X-Spam-Flag", "YES" if v.action is not Action.INBOX else "NO"),
            ("X-Spam-Score", f"{v.score:.2f}"),
            ("X-Spam-Folder", folder),
            ("X-Spam-Reasons", reasons[:900].replace("\r", " ").replace("\n", " ")),
        ]
        if v.abstained:
            fields.append(("X-Spam-Abstained", "yes (the filter has not learned enough yet)"))
        return Delivery(found, prepend(found.canonical, fields), folder)

    # --- clicks -------------------------------------------------------------------------------------

    def report_not_spam(self, raw: bytes, mailbox: str) -> ClickOutcome:
        mailbox = mailbox_key(mailbox)
        found = self.classify(raw, mailbox, explain=0)
        return ClickOutcome(learned=self._learn(found.canonical, mailbox, is_spam=False))

    def report_spam(self, raw: bytes, mailbox: str, *, share: bool | None = None,
                    unsubscribe: bool = False) -> ClickOutcome:
        """The spam click. From a trusted sender it teaches nothing and, when the mail
        offers it, answers with the unsubscribe hint (and unsubscribes with
        ``unsubscribe``). Otherwise the filter learns at once, and with the user's consent
        a complaint report goes to the sender's feedback address and the spam partner.
        Consent once given is remembered; ``share=False`` or no answer asks again next time."""
        mailbox = mailbox_key(mailbox)
        found = self.classify(raw, mailbox, explain=0)
        view = read_message(found.canonical)
        if found.rule.trusted:
            out = ClickOutcome(learned=False, trusted_sender=True)
            offer = list_unsubscribe(view, bool(self.settings.mailbox_allow_http_unsubscribe))
            if offer is None:
                out.notes.append("you trust this sender, so the click changes nothing; remove the trust "
                                 "rule to let the filter learn from it")
                return out
            out.unsubscribe = offer.to_json()
            if unsubscribe:
                out.unsubscribe["result"] = self._unsubscribe(offer)
            return out
        out = ClickOutcome(learned=self._learn(found.canonical, mailbox, is_spam=True))
        consent = self.db.consent(mailbox)
        if consent != "accepted" and share is not None:
            consent = "accepted" if share else "declined"
            self.db.set_consent(mailbox, consent)
        out.consent = consent
        if consent != "accepted":
            out.consent_question = CONSENT_QUESTION
            return out
        out.reports = self._report(found, view, mailbox)
        return out

    def _unsubscribe(self, offer: Unsubscribe) -> dict[str, Any]:
        done = one_click_unsubscribe(offer, timeout=float(self.settings.dns_timeout) * 3)
        return {"done": done.done, "url": done.url, "status": done.status, "detail": done.detail}

    def _report(self, found: Classification, view: MailView, mailbox: str) -> list[dict[str, Any]]:
        results = found.auth
        # The domain a report is about: one that proved itself (a passing DKIM signature),
        # else the From domain.
        signed = [r.prop("header.d") for r in results.results if r.method == "dkim" and r.result == "pass"]
        domain = next((d for d in signed if d), None) or results.from_domain or ""
        targets: list[tuple[str, str]] = []
        registered = self.db.feedback_address(domain) if domain else None
        if registered:
            targets.append(("sender", registered[1]))
        partner = str(self.settings.mailbox_spam_partner or "")
        if partner:
            targets.append(("partner", partner))
        if not targets:
            return [{"to": None, "outcome": "skipped",
                     "detail": f"no feedback address is registered for {domain or 'the sender'}"}]
        complaint = Complaint(recipient=mailbox, reported_domain=domain or "unknown",
                              source_ip=_client_ip(view),
                              mail_from=_address(view.header("return-path") or ""),
                              reporter=str(self.settings.mailbox_report_from))
        sent: list[dict[str, Any]] = []
        upstream = str(self.settings.mailbox_smtp_upstream or "")
        for role, address in targets:
            report = arf_report(found.canonical, complaint, address)
            if not upstream:
                outcome, detail = "skipped", "no upstream SMTP server is configured (mailbox_smtp_upstream)"
            else:
                try:
                    outcome, detail = "sent", send_report(report, complaint.reporter, address, upstream)
                except (OSError, ValueError) as exc:  # smtplib errors are OSErrors
                    outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
                    log.warning("mailbox: complaint report to %s failed: %s", address, detail)
            self.db.log_report(mailbox, complaint.reported_domain, address, view.header("message-id"),
                               outcome, detail)
            sent.append({"to": address, "role": role, "outcome": outcome, "detail": detail})
        return sent

    # --- rules, correspondents, consent -------------------------------------------------------

    def add_rule(self, mailbox: str, kind: str, match: str, value: str,
                 action: str | None = None) -> SenderRule:
        rule = SenderRule.make(kind, match, value, action)
        self.db.add_rule(mailbox_key(mailbox), rule)
        return rule

    def remove_rule(self, mailbox: str, kind: str, match: str, value: str) -> bool:
        return self.db.remove_rule(mailbox_key(mailbox), kind, match, value)

    def rules(self, mailbox: str) -> list[SenderRule]:
        return self.db.rules(mailbox_key(mailbox))

    def wrote_to(self, mailbox: str, recipients: list[str]) -> int:
        """The user sent mail to ``recipients``: they become trusted correspondents."""
        added = 0
        for recipient in recipients:
            rule = SenderRule.make("correspondent", "address", recipient)
            added += self.db.add_rule(mailbox_key(mailbox), rule)
        return added

    def set_consent(self, mailbox: str, share: bool) -> str:
        state = "accepted" if share else "declined"
        self.db.set_consent(mailbox_key(mailbox), state)
        return state


_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+")


def _address(value: str) -> str | None:
    match = _ADDRESS.search(value)
    return match.group(0).lower() if match else None


def _client_ip(view: MailView) -> str | None:
    """The connecting client our inbound path recorded in its SPF result."""
    for value in view.header_values("received-spf")[:1]:
        match = _CLIENT_IP.search(value)
        if match:
            return match.group(1)
    return None


_CLIENT_IP = re.compile(r"(?i)\bclient-ip=([0-9a-f.:]{2,45})")
