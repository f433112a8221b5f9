"""classify_reply on bare SMTP replies, and the phrase tables checked row by row."""

from __future__ import annotations

import pytest

from postwarden.classify import REASONS, SENDER_SIDE, classify_reply, reasons
from postwarden.classify.command import detect_command
from postwarden.classify.providers import PROVIDERS
from postwarden.classify.reply import decide

CASES = [
    ("550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "550", "5.1.1",
     "userunknown", True),
    ("552 5.2.2 <a@b.example>... Mailbox full", "552", "5.2.2", "mailboxfull", False),
    ("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
     "554", "5.7.1", "blocked", False),
    ("550 5.7.26 This mail has been blocked because the sender is unauthenticated.",
     "550", "5.7.26", "authfailure", False),
    ("550 5.7.25 The IP address sending this message does not have a PTR record setup",
     "550", "5.7.25", "requireptr", False),
    ("550 5.7.1 Message rejected as spam by Content Filtering.", "550", "5.7.1", "spamdetected", False),
    ("421 4.7.0 Too many concurrent SMTP connections; please try again later", "421", "4.7.0",
     "toomanyconn", False),
    ("550 5.1.2 Host unknown (Name server: nx.example: host not found)", "550", "5.1.2", "hostunknown", True),
    ("554 5.7.1 <a@b.example>: Relay access denied", "554", "5.7.1", "norelaying", False),
    ("550 5.1.6 recipient no longer on server: someone@icloud.com", "550", "5.1.6", "hasmoved", True),
    ("552 5.3.4 Message size exceeds fixed limit", "552", "5.3.4", "mesgtoobig", False),
    ("530 5.7.0 Must issue a STARTTLS command first", "530", "5.7.0", "failedstarttls", False),
    ("550 5.2.1 The email account that you tried to reach is disabled.", "550", "5.2.1", "suspend", False),
    ("550 5.7.606 Access denied, banned sending IP [192.0.2.1]", "550", "5.7.606", "blocked", False),
    ("556 5.1.10 Recipient address has null MX", "556", "5.1.10", "notaccept", True),
    ("250 2.0.0 Ok: queued as ABC123", "250", "2.0.0", "delivered", False),
]


@pytest.mark.parametrize(("text", "code", "status", "reason", "hard"), CASES)
def test_classify_reply(text: str, code: str, status: str, reason: str, hard: bool) -> None:
    verdict = classify_reply(text)
    assert (verdict.reply_code, verdict.status, verdict.reason, verdict.hard_bounce) == (
        code, status, reason, hard,
    )
    assert verdict.sender_side == (reason in SENDER_SIDE)


def test_sender_side_reasons_never_hard_bounce() -> None:
    for row in REASONS:
        if row.sender_side:
            assert not row.hard, row.name


def test_user_unknown_after_data_is_a_filter() -> None:
    assert decide("550 User unknown", None, "550", command="DATA") == "filtered"
    assert decide("550 User unknown", None, "550", command="RCPT") == "userunknown"
    assert decide("550 5.1.1 User unknown", "5.1.1", "550", command="DATA") == "userunknown"


def test_unknown_sender_domain_at_mail_from_is_rejected() -> None:
    assert decide("550 5.1.8 Domain of sender address does not exist", None, "550",
                  command="MAIL") == "rejected"


def test_reason_table_rows() -> None:
    names = [r.name for r in REASONS]
    assert len(names) == len(set(names))
    for row in REASONS:
        assert row.description and row.description == row.description.strip()
        for phrase in row.phrases:
            assert phrase == phrase.lower(), (row.name, phrase)


ROWS = [(row.name, phrase) for row in REASONS for phrase in row.phrases]


@pytest.mark.parametrize(("name", "phrase"), ROWS)
def test_each_phrase_alone_gives_its_reason_or_a_more_specific_one(name: str, phrase: str) -> None:
    """Every phrase, said on its own, is recognised: it gives its own reason, or
    the reason of a longer phrase that contains it (the longest match wins).
    Said in reply to RCPT TO, so that "user unknown" is not read as a filter."""
    got = decide(f"550 {phrase}", None, "550", command="RCPT")
    if got != name:
        longer = [
            (r.name, p) for r in REASONS for p in r.phrases
            if len(p) > len(phrase) and p in phrase
        ] + [(n, p) for p, n in reasons.OVERRIDES if p in phrase]
        assert got in {n for n, _ in longer} or got in _strong_status_reason(phrase), (
            f"{phrase!r} gave {got}"
        )


def _strong_status_reason(phrase: str) -> set[str]:
    return set()


PROVIDER_ROWS = [
    (p.name, p.hosts[0], reason, phrase)
    for p in PROVIDERS for reason, phrases in p.phrases.items() for phrase in phrases
]


@pytest.mark.parametrize(("provider", "host", "reason", "phrase"), PROVIDER_ROWS)
def test_each_provider_phrase(provider: str, host: str, reason: str, phrase: str) -> None:
    assert decide(f"550 {phrase}", None, "550", remote_mta=f"mx.{host}") == reason


@pytest.mark.parametrize(("text", "status", "command", "reason"), [
    # said in reply to RCPT TO, or with an X.1.x code: the mailbox is missing
    ("550 <a@b.example>: User unknown", None, "RCPT", "userunknown"),
    ("550 5.1.1 <a@b.example>: User unknown", "5.1.1", None, "userunknown"),
    ("Sorry, no SMTP connection got far enough; most progress was RCPT TO response; "
     "remote host 192.0.2.3 said: 550 Unknown user a@b.example", None, None, "userunknown"),
    # a directory lookup that failed is a missing mailbox wherever it is said
    ("User a (a@b.example) not listed in Domino Directory", None, None, "userunknown"),
    # the local delivery agent found no such mailbox: no filter involved
    ("554 <a@b.example>... Service unavailable mail.local: unknown user: a", None, None,
     "userunknown"),
    # the same words after DATA, with no command, or under X.7.x: a filter refused it
    ("550 User unknown", None, "DATA", "filtered"),
    ("550 Unknown user a@b.example", None, None, "filtered"),
    ("550 5.7.1 550 User Unknown: a@b.example", "5.7.1", None, "filtered"),
])
def test_user_unknown_context(text: str, status: str | None, command: str | None, reason: str) -> None:
    assert decide(text, status, "550", command=command or detect_command(text)) == reason


def test_a_failure_after_only_temporary_replies_is_expired() -> None:
    text = "421 example.org (smtp)... Deferred: Connection timed out during user open"
    assert decide(text, None, "421", action="failed") == "expired"
    # a specific enhanced code keeps its own meaning
    assert decide("lost connection while performing the HELO handshake", "4.4.2", None,
                  action="failed") == "networkerror"


STAGED_ROWS = [
    (p.name, p.hosts[0], phrase, status, command, reason)
    for p in PROVIDERS for phrase, rows in p.staged.items() for status, command, reason in rows
]


@pytest.mark.parametrize(("provider", "host", "phrase", "status", "command", "reason"), STAGED_ROWS)
def test_each_staged_provider_row(
    provider: str, host: str, phrase: str, status: str | None, command: str | None, reason: str
) -> None:
    assert decide(f"550 {phrase}", status or "5.0.0", "550", remote_mta=f"mx.{host}",
                  command=command) == reason


@pytest.mark.parametrize(("text", "status", "command", "reason"), [
    # NTT docomo: the same "550 Unknown user" at RCPT TO and after DATA
    ("550 Unknown user sora@docomo.ne.jp", "5.0.0", "RCPT", "userunknown"),
    ("550 Unknown user sora@docomo.ne.jp", "5.0.0", "DATA", "rejected"),
    ("550 Unknown user sora@docomo.ne.jp", "5.2.0", None, "filtered"),
    # its per-session recipient cap
    ("552 Too many recipients", "5.0.0", None, "toomanyconn"),
])
def test_docomo_stages(text: str, status: str, command: str | None, reason: str) -> None:
    assert decide(text, status, text[:3], command=command, remote_mta="mfsmax.docomo.ne.jp") == reason


def test_a_quoted_reply_after_an_arrow_keeps_its_code() -> None:
    # Exchange Online relaying au's refusal: "550 : User unknown" is au's domain filter
    text = ("550 5.1.351 Remote server returned unknown recipient or mailbox unavailable"
            " -> 550 : User unknown")
    assert decide(text, "5.1.351", "550", remote_mta="mx.au.com") == "filtered"


def test_status_comment_and_category() -> None:
    # "Status: 5.2.1 (mailbox disabled, not accepting messages)" under bad-mailbox
    assert decide("550 5.2.1 <a@b.example>... User Unknown", "5.2.1", "550",
                  note="mailbox disabled, not accepting messages", hint="userunknown") == "suspend"
    assert decide("554 delivery error: no account here", "5.0.0", "554",
                  hint="userunknown") == "userunknown"
    assert decide("550 refused", "5.0.0", "550", hint="spamdetected") == "spamdetected"


def test_access_denied_at_mail_from_refuses_the_sender() -> None:
    assert decide("550 5.7.1 Access denied", "5.7.1", "550", command="MAIL") == "rejected"
    assert decide("550 5.7.1 Access denied", "5.7.1", "550", command="DATA") == "securityerror"
    assert decide("530 5.7.0 Authentication required", "5.7.0", "530",
                  command="MAIL") == "securityerror"


@pytest.mark.parametrize(("state", "status", "reason"), [
    ("18", "5.7.0", "filtered"),       # after DATA, no detail of its own: Gmail's filter stage
    ("14", "5.1.1", "userunknown"),    # at RCPT TO
    ("17", None, "filtered"),
    ("6", None, "failedstarttls"),
    ("15", "5.2.2", "mailboxfull"),    # a detailed status keeps its own meaning
])
def test_gmail_states(state: str, status: str | None, reason: str) -> None:
    text = ("Technical details of permanent failure: Google tried to deliver your message, but it"
            " was rejected by the recipient domain. The error that the other server returned was:"
            f" 550 550 {status or ''} Not accepted (state {state}).")
    assert decide(text, status, "550") == reason


def test_action_expired_is_expired() -> None:
    assert decide("Connection timed out", "5.0.0", None, action="expired") == "expired"


def test_aol_reporting_mta_wording() -> None:
    text = ("Name service error for name=far.example type=MX: Malformed or unexpected name"
            " server reply")
    assert decide(text, "5.4.4", None, reporting_mta="omr-m01.mx.aol.com") == "notaccept"
    # the same words from anyone else are a DNS failure
    assert decide(text, "5.4.4", None, reporting_mta="mx.other.example") == "networkerror"
