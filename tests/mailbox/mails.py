"""Small synthetic messages for the filter tests, written for these tests.

Two families that share common words (so the filter has to learn which words matter):
``ham`` reads like a project mailing list, ``spam`` like a pushy offer. A third,
``newsletter``, is legitimate bulk mail that some users may want and others not."""

from __future__ import annotations

import random
import zlib

_COMMON = [
    "the", "a", "to", "of", "and", "in", "for", "on", "is", "this", "that", "with", "you",
    "we", "it", "be", "are",
]
_HAM = [
    "patch", "build", "release", "meeting", "agenda", "review", "kernel", "compiler", "branch",
    "merge", "tests", "deadline", "draft", "minutes", "thanks", "regards", "cheers", "bug",
    "report", "config", "module", "docs", "tomorrow", "afternoon", "repository", "commit",
    "debian", "package", "upstream", "question",
]
_SPAM = [
    "free", "offer", "winner", "cash", "prize", "cheap", "pills", "discount", "limited",
    "click", "now", "urgent", "guaranteed", "income", "bonus", "lottery", "claim", "exclusive",
    "deal", "casino", "credit", "loan", "unbelievable", "risk-free", "act", "today",
    "money-back", "earn",
]
_NEWS = [
    "newsletter", "weekly", "digest", "issue", "readers", "stories", "garden", "recipes",
    "season", "events", "subscribe", "edition", "featured", "community", "spotlight",
]


def _words(rng: random.Random, pool: list[str], n: int) -> str:
    return " ".join(rng.choice(pool if rng.random() < 0.6 else _COMMON) for _ in range(n))


def message(
    *,
    sender: str,
    subject: str,
    body: str,
    to: str = "alice@example.org",
    extra_headers: str = "",
    html: bool = False,
) -> bytes:
    ctype = "text/html" if html else "text/plain"
    head = (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        f"Message-ID: <{zlib.crc32((sender + subject + body).encode())}@{sender.split('@')[-1]}>\n"
        f"{extra_headers}MIME-Version: 1.0\nContent-Type: {ctype}; charset=utf-8\n\n"
    )
    return (head + body + "\n").encode("utf-8")


def ham(i: int, to: str = "alice@example.org") -> bytes:
    rng = random.Random(f"ham{i}")
    return message(
        sender=f"dev{i % 7}@lists.example.org",
        to=to,
        subject="Re: " + _words(rng, _HAM, 4),
        body=_words(rng, _HAM, 60),
        extra_headers="List-Id: <devel.lists.example.org>\n",
    )


def spam(i: int, to: str = "alice@example.org") -> bytes:
    rng = random.Random(f"spam{i}")
    body = _words(rng, _SPAM, 50) + f' <a href="http://promo{i % 5}.example.net/x">click</a>'
    return message(
        sender=f"deals{i}@promo{i % 5}.example.net",
        to=to,
        subject=_words(rng, _SPAM, 5).upper() + "!!!",
        body=f"<html><body><p>{body}</p></body></html>",
        html=True,
    )


def newsletter(i: int, to: str = "alice@example.org") -> bytes:
    rng = random.Random(f"news{i}")
    return message(
        sender="editor@news.example.com",
        to=to,
        subject="Weekly digest: " + _words(rng, _NEWS, 3),
        body=_words(rng, _NEWS, 60) + "\nUnsubscribe: http://news.example.com/unsubscribe",
        extra_headers="List-Id: <weekly.news.example.com>\nPrecedence: bulk\n",
    )
