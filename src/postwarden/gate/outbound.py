"""Spam scoring of outgoing mail, so that one customer's phishing or junk does not
spoil the platform's reputation for everyone. Rules are data: a symbol, a score, a
description, and either a regular expression over one part of the message or the
name of a small check. Detection and scores are kept apart: a rule fires or not; the
threshold that refuses a message is a setting."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Outgoing:
    """What the rules look at, taken apart once."""

    subject: str
    from_header: str
    text: str  # the text parts and the HTML parts' text, joined
    urls: tuple[str, ...]
    links: tuple[tuple[str, str], ...]  # (href, the link's visible text)
    attachments: tuple[str, ...]
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names, first value


@dataclass(frozen=True)
class Rule:
    symbol: str
    score: float
    description: str
    target: str = ""  # subject, text, urls or from; with ``pattern``
    pattern: str = ""
    check: str = ""  # a name in CHECKS


@dataclass(frozen=True)
class Score:
    total: float
    fired: tuple[Rule, ...]

    def summary(self) -> str:
        return ", ".join(f"{r.symbol}({r.score:g})" for r in self.fired) or "no rules fired"


SHORTENERS = r"(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|is\.gd|ow\.ly|buff\.ly|cutt\.ly|rb\.gy|shorturl\.at)"

RULES: tuple[Rule, ...] = (
    Rule("SUBJECT_ALL_CAPS", 1.5, "the subject is shouted in capitals", check="subject_all_caps"),
    Rule("SUBJECT_URGENT_MONEY", 1.5, "the subject pushes money or urgency",
         target="subject", pattern=r"(?i)\b(act now|urgent|winner|you have won|\$\$\$|100% free|"
                                   r"risk[- ]free|limited time)\b"),
    Rule("URL_IP_LITERAL", 2.5, "a link points at a bare IP address, as phishing kits do",
         target="urls", pattern=r"(?i)^https?://\d{1,3}(?:\.\d{1,3}){3}(?:[:/]|$)"),
    Rule("URL_USERINFO", 3.0, "a link hides its real host behind user@ (http://bank.example@evil/)",
         target="urls", pattern=r"(?i)^https?://[^/?#]*@"),
    Rule("URL_SHORTENER", 1.0, "a link goes through a URL shortener, hiding where it leads",
         target="urls", pattern=rf"(?i)^https?://(?:www\.)?{SHORTENERS}/"),
    Rule("URL_PUNYCODE", 1.5, "a link's host is punycode, a common look-alike trick",
         target="urls", pattern=r"(?i)^https?://(?:[^/?#]*\.)?xn--"),
    Rule("DECEPTIVE_LINK", 3.0, "a link's visible text names another site than the link goes to",
         check="deceptive_link"),
    Rule("ASKS_FOR_CREDENTIALS", 2.5, "the text asks the reader to confirm a password or account",
         target="text", pattern=r"(?i)\b(verify your (account|identity)|confirm your (password|account|"
                                r"login)|your account (will be|has been) (suspended|locked|closed)|"
                                r"update your (billing|payment) (details|information))\b"),
    Rule("BULK_WITHOUT_UNSUBSCRIBE", 2.0, "bulk mail (Precedence: bulk or List-Id) without "
         "List-Unsubscribe, which Gmail and Yahoo require of bulk senders", check="bulk_without_unsubscribe"),
    Rule("EXECUTABLE_ATTACHMENT", 4.0, "an attachment a mail client would run (.exe, .js, .scr, ...)",
         check="executable_attachment"),
    Rule("FROM_NAME_SPOOF", 2.0, "the From display name shows an address at another domain",
         check="from_name_spoof"),
)

EXECUTABLE = re.compile(r"(?i)\.(exe|scr|com|bat|cmd|js|jse|vbs|vbe|wsf|msi|ps1|jar|lnk|hta|iso)$")
DOMAIN_IN_TEXT = re.compile(r"(?i)\b((?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:]\S*)?\b")


def _host(url: str) -> str:
    try:
        return (urlsplit(url if "//" in url else f"http://{url}").hostname or "").lower()
    except ValueError:
        return ""


def _registered(host: str) -> str:
    """The last two labels: good enough to tell two sites apart here, without a public
    suffix list (a miss only means a rule does not fire)."""
    return ".".join(host.rsplit(".", 2)[-2:])


def _subject_all_caps(m: Outgoing) -> bool:
    letters = [c for c in m.subject if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)


def _deceptive_link(m: Outgoing) -> bool:
    for href, shown in m.links:
        target = _host(href)
        found = DOMAIN_IN_TEXT.search(shown)
        if target and found and _registered(_host(found.group(1))) != _registered(target):
            return True
    return False


def _bulk_without_unsubscribe(m: Outgoing) -> bool:
    bulk = m.headers.get("precedence", "").strip().lower() in ("bulk", "list") or "list-id" in m.headers
    return bulk and "list-unsubscribe" not in m.headers


def _executable_attachment(m: Outgoing) -> bool:
    return any(EXECUTABLE.search(name) for name in m.attachments)


def _from_name_spoof(m: Outgoing) -> bool:
    for name, address in getaddresses([m.from_header]):
        shown = re.search(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)", name)
        real = address.rpartition("@")[2].lower()
        if shown and real and _registered(shown.group(1).lower()) != _registered(real):
            return True
    return False


CHECKS: dict[str, Callable[[Outgoing], bool]] = {
    "subject_all_caps": _subject_all_caps,
    "deceptive_link": _deceptive_link,
    "bulk_without_unsubscribe": _bulk_without_unsubscribe,
    "executable_attachment": _executable_attachment,
    "from_name_spoof": _from_name_spoof,
}

_COMPILED = {r.symbol: re.compile(r.pattern) for r in RULES if r.pattern}
URL = re.compile(r"(?i)\bhttps?://[^\s\"'<>()]+")
ANCHOR = re.compile(r"(?is)<a\s[^>]*?href\s*=\s*[\"']?([^\"'\s>]+)[^>]*>(.*?)</a>")
TAG = re.compile(r"(?s)<[^>]+>")


def decoded_header(value: object) -> str:
    """A header's text with RFC 2047 words decoded; as it stands if they are broken."""
    try:
        return str(make_header(decode_header(str(value))))
    except (LookupError, ValueError, UnicodeError):
        return str(value)


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except LookupError:
        return payload.decode("latin-1")


def take_apart(raw: bytes) -> Outgoing:
    # The legacy parser: this runs on every message sent, and the modern policy's
    # header objects cost twenty times as much for nothing the rules need.
    message = message_from_bytes(raw)
    texts: list[str] = []
    links: list[tuple[str, str]] = []
    attachments: list[str] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if filename:
            attachments.append(decoded_header(filename))
        elif part.get_content_maintype() == "text":
            content = _text_of(part)
            if part.get_content_subtype() == "html":
                links.extend((href, TAG.sub("", shown)) for href, shown in ANCHOR.findall(content))
            texts.append(content)
    text = "\n".join(texts)
    headers = {k.lower(): decoded_header(v) for k, v in reversed(message.items())}
    return Outgoing(subject=headers.get("subject", ""), from_header=headers.get("from", ""),
                    text=TAG.sub(" ", text), urls=tuple(dict.fromkeys(URL.findall(text))),
                    links=tuple(links), attachments=tuple(attachments), headers=headers)


def fires(rule: Rule, m: Outgoing) -> bool:
    if rule.check:
        return CHECKS[rule.check](m)
    pattern = _COMPILED[rule.symbol]
    if rule.target == "urls":
        return any(pattern.search(u) for u in m.urls)
    value = {"subject": m.subject, "text": m.text, "from": m.from_header}[rule.target]
    return pattern.search(value) is not None


def score(raw: bytes, rules: tuple[Rule, ...] = RULES) -> Score:
    message = take_apart(raw)
    fired = tuple(r for r in rules if fires(r, message))
    return Score(round(sum(r.score for r in fired), 2), fired)
