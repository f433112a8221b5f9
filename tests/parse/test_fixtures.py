"""Our own small samples, one per format family, each checked field by field
and again with CRLF and CR line endings."""

from __future__ import annotations

from pathlib import Path

import pytest

from postwarden.parse import parse_message

FIXTURES = Path(__file__).with_name("fixtures")

# file: (kind, [(recipient, status, reply_code, reason, hard_bounce)])
EXPECTED: dict[str, tuple[str, list[tuple[str | None, str | None, str | None, str, bool]]]] = {
    "postfix-dsn.eml": ("bounce", [("nobody@receiver.example", "5.1.1", "550", "userunknown", True)]),
    "dsn-blocked-and-full.eml": ("bounce", [
        ("carol@blocking.example", "5.7.1", "554", "blocked", False),
        ("dave@full.example", "5.2.2", "552", "mailboxfull", False),
    ]),
    "delayed-dsn.eml": ("delay", [("erin@slow.example", "4.4.1", None, "networkerror", False)]),
    "exim-plain.eml": ("bounce", [("gina@gone.example", "5.1.1", "550", "userunknown", True)]),
    "qmail-plain.eml": ("bounce", [("ivy@quota.example", "5.2.2", "552", "mailboxfull", False)]),
    "sendmail-after-data.eml": ("bounce", [("kate@filter.example", "5.0.0", "550", "filtered", False)]),
    "arf-abuse.eml": ("complaint", [("leo@provider.example", None, None, "feedback", False)]),
    "jmrp.eml": ("complaint", [("mia@hotmail.example", None, None, "feedback", False)]),
    "vacation.eml": ("autoreply", [("nina@office.example", None, None, "vacation", False)]),
    "ses-json.eml": ("bounce", [("oscar@receiver.example", "5.1.1", "550", "userunknown", True)]),
    "autoreply-gone.eml": ("bounce", [("noreply@left.example", "5.0.0", None, "suspend", False)]),
    "plain-mail.eml": ("none", []),
    "imail-unknown.eml": ("bounce", [("paula@imail.example", "5.0.0", None, "userunknown", True)]),
    "notes-failure.eml": ("bounce", [("quinn@notes.example", "5.0.0", None, "userunknown", True)]),
    "interscan-unable.eml": ("bounce", [("rosa@scan.example", "5.0.0", None, "userunknown", True)]),
    "kddi-full.eml": ("bounce", [("sam@mx.dion.ne.jp", "5.0.0", None, "mailboxfull", False)]),
    "v5sendmail-transcript.eml": ("bounce", [
        ("tina@one.example", "5.0.0", "550", "userunknown", True),
        ("uma@two.example", "5.0.0", "550", "hostunknown", True),
    ]),
    "opensmtpd-error.eml": ("bounce", [
        ("vera@gone.example", "5.1.1", "550", "userunknown", True),
        ("walt@slow.example", "5.0.0", None, "expired", False),
    ]),
    "exim-failed.eml": ("bounce", [
        ("xena@one.example", "5.1.1", "550", "userunknown", True),
        ("yuri@two.example", "5.0.0", "554", "blocked", False),
    ]),
    # a recipient that also appears in the bounce's own headers is still found
    "qmail-rcpt.eml": ("bounce", [("sender@qmail.sender.example", "5.0.0", "550", "userunknown", True)]),
    "mailmarshal-unknown.eml": ("bounce", [("zoe@marshal.example", "5.1.1", "550", "userunknown", True)]),
    # a gateway that wraps the DSN it received: the attached report is read
    "forwarded-dsn.eml": ("bounce", [("abe@inner.example", "5.1.1", "550", "userunknown", True)]),
    # the list refuses the sender: the list address is named, the sender is at fault
    "fml-not-member.eml": ("bounce", [("cats@lists.example", "5.0.0", None, "rejected", False)]),
    "mimecast-alert.eml": ("bounce", [("bea@mc.example", "5.1.1", "550", "userunknown", True)]),
    "ezweb-disabled.eml": ("bounce", [("cleo@ezweb.ne.jp", "5.0.0", None, "suspend", False)]),
    # refused with no reply quoted: the phone's domain filter
    "ezweb-filter.eml": ("bounce", [("dora@ezweb.ne.jp", "5.0.0", None, "filtered", False)]),
    # a bounce forwarded inline, quoted with "> ", is read from the quote
    "forwarded-inline.eml": ("bounce", [("eve@far.example", "5.1.1", "550", "userunknown", True)]),
    # PowerMTA: the status comment and the bounce category are its own words;
    # "mailbox disabled" beats a bare "User Unknown", "bad-mailbox" keeps an
    # unnamed refusal a missing mailbox, "quota-issues" names the reason outright
    "powermta-categories.eml": ("bounce", [
        ("frida@disabled.example", "5.2.1", "550", "suspend", False),
        ("gus@portal.example", "5.0.0", "554", "userunknown", True),
        ("hana@crowded.example", "5.0.0", "552", "mailboxfull", False),
    ]),
    # qmail gave up after the queue lifetime: its own sentences (qmail-ldap,
    # qmail-remote) still name the reason, and so does a remote reply it quotes;
    # "but sender was rejected" only names the stage
    "qmail-gave-up.eml": ("delay", [
        ("kim@directory.example", "4.4.3", None, "systemerror", False),
        ("lou@silent.example", "4.4.1", None, "networkerror", False),
        ("max@busy.example", "4.7.0", "421", "badreputation", False),
    ]),
    # a qmail clone that gave up: the temporary trouble is not the reason
    "qmail-clone-expired.eml": ("delay", [("otto@far.example", "4.1.9", None, "expired", False)]),
    # Sendmail's own summary line closes the transcript of a failed local mailer
    "sendmail-mailer-summary.eml": ("bounce", [
        ("quinn@receiver.example", "5.3.0", "554", "mailererror", False),
    ]),
    # a source-routed Final-Recipient names the last hop's local mailbox: the
    # original recipient is the address; "Action: expired" is expired
    "dsn-routed-and-expired.eml": ("bounce", [
        ("sam@receiver.example", "5.2.0", "522", "mailboxfull", False),
        ("tess@quiet.example", "5.0.0", None, "expired", False),
    ]),
    # Exim delivering to a file: the mailbox is the address it was generated by
    "exim-file-delivery.eml": ("bounce", [
        ("vic@store.receiver.example", "5.0.0", None, "mailboxfull", False),
    ]),
    # Postfix with its report missing: only template sentences, so no reason
    "postfix-no-report.eml": ("bounce", [("yara@elsewhere.example", "5.0.0", None, "undefined", False)]),
    # a hosting provider's own notice: the reason is on its labelled line
    "plain-labelled-reason.eml": ("bounce", [
        ("zed@hosting.example", "5.0.0", None, "mailboxfull", False),
    ]),
    "verizon-sms.eml": ("bounce", [("5550100@vtext.com", "5.0.0", "550", "userunknown", True)]),
}

LINE_ENDINGS = {"lf": b"\n", "crlf": b"\r\n", "cr": b"\r"}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("ending", sorted(LINE_ENDINGS))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str, ending: str) -> None:
    raw = (FIXTURES / name).read_bytes().replace(b"\n", LINE_ENDINGS[ending])
    result = parse_message(raw)
    kind, records = EXPECTED[name]
    assert result.error is None
    assert result.kind == kind
    got = [(r.recipient, r.status, r.reply_code, r.reason, r.hard_bounce) for r in result.records]
    assert got == records


def test_original_message_headers_are_returned() -> None:
    result = parse_message((FIXTURES / "postfix-dsn.eml").read_bytes())
    assert result.original is not None
    assert result.original.message_id == "<spring-2025@sender.example>"
    assert result.original.envelope_sender == "bounces+nobody=receiver.example@sender.example"
    assert result.original.subject == "Spring newsletter"
    assert result.original.to == "nobody@receiver.example"


def test_inline_original_message_is_found() -> None:
    result = parse_message((FIXTURES / "exim-plain.eml").read_bytes())
    assert result.original is not None
    assert result.original.message_id == "<lunch-1@sender.example>"


def test_complaint_fields() -> None:
    result = parse_message((FIXTURES / "arf-abuse.eml").read_bytes())
    assert result.complaint is not None
    assert result.complaint.feedback_type == "abuse"
    assert result.complaint.source_ip == "192.0.2.44"
    assert result.complaint.user_agent == "ProviderFBL/2.1"
    assert result.complaint.reported_domain == "sender.example"
    assert result.complaint.original_mail_from == "bounces@sender.example"
    assert result.records[0].feedback_type == "abuse"


def test_dsn_fields_are_kept() -> None:
    result = parse_message((FIXTURES / "postfix-dsn.eml").read_bytes())
    record = result.records[0]
    assert record.remote_mta == "mx.receiver.example"
    assert record.reporting_mta == "mx.sender.example"
    assert record.original_recipient == "nobody@receiver.example"
    assert record.action == "failed"
    assert record.arrival_date is not None


def test_json_shape() -> None:
    data = parse_message((FIXTURES / "postfix-dsn.eml").read_bytes()).to_json()
    assert set(data) >= {"kind", "records", "original", "complaint", "error"}
    assert data["original"]["from"] == "Alice <alice@sender.example>"
    assert set(data["records"][0]) >= {
        "recipient", "original_recipient", "action", "status", "reply_code", "reason",
        "hard_bounce", "diagnostic", "remote_mta", "reporting_mta", "arrival_date",
        "last_attempt_date", "feedback_type",
    }


@pytest.mark.parametrize("ending", sorted(LINE_ENDINGS))
def test_an_mbox_given_as_one_message_reports_every_message(ending: str) -> None:
    parts = []
    for name in ("postfix-dsn.eml", "exim-failed.eml"):
        parts.append(b"From MAILER-DAEMON  Tue Mar  4 10:00:00 2025\n" + (FIXTURES / name).read_bytes())
    raw = b"".join(parts).replace(b"\n", LINE_ENDINGS[ending])
    result = parse_message(raw)
    assert result.kind == "bounce"
    assert [r.recipient for r in result.records] == [
        "nobody@receiver.example", "xena@one.example", "yuri@two.example",
    ]
