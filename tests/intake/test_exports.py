"""Each platform's suppression export, read from a small sample written here."""

from __future__ import annotations

import io
import pkgutil
from datetime import datetime

import pytest

from postwarden.errors import InvalidInput
from postwarden.intake import exports
from postwarden.ledger.service import ImportRow

# (format, file text, expected (address, reason class, scope) per row; problems by line)
SAMPLES = [
    (
        "csv",
        "address,reason,scope,created_at\na@example.com,hard_bounce,*,2025-01-02T03:04:05Z\n"
        "b@example.com,,news,\n",
        [("a@example.com", "hard_bounce", "*"), ("b@example.com", "manual", "news")],
    ),
    (
        "ses",
        '{"SuppressedDestinationSummaries": [{"EmailAddress": "a@example.com", "Reason": "BOUNCE", '
        '"LastUpdateTime": "2025-01-02T03:04:05Z"}, {"EmailAddress": "b@example.com", '
        '"Reason": "COMPLAINT", "LastUpdateTime": "2025-01-03T00:00:00+01:00"}]}',
        [("a@example.com", "hard_bounce", "*"), ("b@example.com", "complaint", "*")],
    ),
    (
        "ses",
        "EmailAddress,Reason,LastUpdateTime\na@example.com,BOUNCE,2025-01-02T03:04:05Z\n",
        [("a@example.com", "hard_bounce", "*")],
    ),
    (
        "sendgrid",
        "email,created,reason,status\na@example.com,1700000000,550 5.1.1 no such user,5.1.1\n"
        "b@example.com,1700000000,452 mailbox full,4.2.2\n",
        [("a@example.com", "hard_bounce", "*"), ("b@example.com", "soft_bounce", "*")],
    ),
    (
        "sendgrid",
        "email,created,ip\nc@example.com,1700000000,192.0.2.1\n",
        [("c@example.com", "complaint", "*")],
    ),
    # A block names the sender's problem: never imported as a recipient suppression.
    (
        "sendgrid",
        "email,created,reason\nd@example.com,1700000000,554 5.7.1 IP blocked by Spamhaus\n"
        "e@example.com,1700000000,Invalid address syntax\n",
        [("e@example.com", "invalid", "*")],
    ),
    ("sendgrid", "email,created\nf@example.com,1700000000\n", [("f@example.com", "unsubscribe", "*")]),
    (
        "mailgun",
        'address,code,error,created_at\na@example.com,550,No such user,"Mon, 02 Jan 2025 03:04:05 UTC"\n',
        [("a@example.com", "hard_bounce", "*")],
    ),
    (
        "mailgun",
        "address,tags,created_at\nb@example.com,*,2025-01-02T03:04:05Z\nc@example.com,news,\n",
        [("b@example.com", "unsubscribe", "*"), ("c@example.com", "unsubscribe", "news")],
    ),
    (
        "mailgun",
        "address,created_at\nd@example.com,2025-01-02T03:04:05Z\n",
        [("d@example.com", "complaint", "*")],
    ),
    (
        "postmark",
        "EmailAddress,SuppressionReason,Origin,CreatedAt,MessageStream\n"
        "a@example.com,HardBounce,Recipient,2025-01-02T03:04:05Z,outbound\n"
        "b@example.com,SpamComplaint,Recipient,2025-01-02T03:04:05Z,broadcast\n"
        "c@example.com,ManualSuppression,Recipient,2025-01-02T03:04:05Z,broadcast\n"
        "d@example.com,ManualSuppression,Customer,2025-01-02T03:04:05Z,outbound\n",
        [
            ("a@example.com", "hard_bounce", "*"),
            ("b@example.com", "complaint", "*"),
            ("c@example.com", "unsubscribe", "broadcast"),
            ("d@example.com", "manual", "*"),
        ],
    ),
    (
        "mailchimp",
        "Email Address,First Name,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,UNSUB_REASON\n"
        "a@example.com,Ann,2025-01-02 03:04:05,Winter,NORMAL\n"
        "b@example.com,Bo,2025-01-02 03:04:05,Winter,ABUSE\n",
        [("a@example.com", "unsubscribe", "*"), ("b@example.com", "complaint", "*")],
    ),
    (
        "mailchimp",
        "Email Address,CLEAN_TIME,CLEAN_CAMPAIGN_TITLE\nc@example.com,2025-01-02 03:04:05,Spring\n",
        [("c@example.com", "hard_bounce", "*")],
    ),
]


def read(fmt: str, text: str) -> list[exports.Item]:
    return list(exports.get(fmt).read(io.StringIO(text, newline="")))


@pytest.mark.parametrize(("fmt", "text", "expected"), SAMPLES)
def test_each_export_reads_into_rows(fmt: str, text: str, expected: list[tuple[str, str, str]]) -> None:
    items = read(fmt, text)
    assert all(isinstance(i, ImportRow) for i in items), items
    rows = [i for i in items if isinstance(i, ImportRow)]
    assert [(r.address, r.reason_class, r.scope) for r in rows] == expected
    assert all(r.created_at is None or isinstance(r.created_at, datetime) for r in rows)


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        ("csv", "email\na@example.com\n", 1),
        ("csv", "address,reason\na@example.com,hard_bounce\nb@example.com,x,y\n", 3),
        ("csv", "address,created_at\na@example.com,last tuesday\n", 2),
        (
            "ses",
            '{"SuppressedDestinationSummaries": [{"EmailAddress": "a@example.com", "Reason": "MAYBE"}]}',
            1,
        ),
        ("ses", "{not json", 1),
        ("postmark", "EmailAddress,SuppressionReason\na@example.com,Whatever\n", 2),
        ("mailchimp", "Email Address,First Name\na@example.com,Ann\n", 1),
        ("sendgrid", "", 1),
    ],
)
def test_bad_files_name_the_line(fmt: str, text: str, line: int) -> None:
    problems = [i for i in read(fmt, text) if isinstance(i, exports.Problem)]
    assert problems and problems[0].line == line and problems[0].problem


def test_registry_matches_the_folder() -> None:
    modules = {m.name for m in pkgutil.iter_modules(exports.__path__)}
    assert len(modules) == len(exports.formats())
    assert set(exports.formats()) == {"csv", "ses", "sendgrid", "mailgun", "postmark", "mailchimp"}


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-01-02T03:04:05Z", datetime(2025, 1, 2, 3, 4, 5)),
    ("2025-01-02T03:04:05.250z", datetime(2025, 1, 2, 3, 4, 5, 250000)),
    ("2025-01-02T03:04:05+02:00", datetime(2025, 1, 2, 1, 4, 5)),
    ("2025-01-02 03:04:05", datetime(2025, 1, 2, 3, 4, 5)),
    ("1735787045", datetime(2025, 1, 2, 3, 4, 5)),
    ("Thu, 02 Jan 2025 03:04:05 GMT", datetime(2025, 1, 2, 3, 4, 5)),
    ("  ", None),
])
def test_times_are_read_as_naive_utc(text: str, expected: datetime | None) -> None:
    assert exports.parse_time(text) == expected


@pytest.mark.parametrize("text", ["2025-01-02T03:04:05+02:00Z", "2025-13-02T03:04:05Z", "Zulu"])
def test_unreadable_times_are_refused_with_the_form_to_use(text: str) -> None:
    with pytest.raises(InvalidInput, match="ISO 8601"):
        exports.parse_time(text)
