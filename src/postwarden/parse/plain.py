"""The shared scanner for plain-text (non-RFC 3464) bounces.

Most MTAs that do not write a ``message/delivery-status`` part still follow one
shape: an introduction, then for each failed recipient a line naming the
address followed by the remote server's words, then a marker line and a copy
of the message. A format module describes its own markers as a
:class:`PlainFormat`; :func:`scan` does the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from postwarden.classify.command import detect_command
from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, all_addresses, clean_address, first_address, headers_of

_ADDR = r"[^\s<>\"'():;,@\[\]]{1,128}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}[A-Za-z0-9]"

# A line that is (nearly) only an address: "<a@b>:", "  a@b", ">>> a@b <a@b>",
# "* a@b", '"a@b":', "a@b on Thu, ...", "a@b [User unknown]".
_ALONE = re.compile(
    rf"^(?:>>>\s*|\*\s*|-\s*|\d\)\s*)?[<\"]?(?P<a>{_ADDR})[>\"]?\s*:?\s*"
    rf"(?:<{_ADDR}>\s*:?|\(.{{0,200}}\)|on .{{0,80}}|\[.{{0,200}}\])?\s*$"
)
# A line that starts with the address and goes on with the reason.
_LEADING = re.compile(rf"^[<\"]?(?P<a>{_ADDR})[>\"]?\s*(?::|\.\.\.|\s-\s|\s)\s*(?P<rest>\S.{{0,2000}})$")
# A line that introduces the address with a phrase.
_INTRO = re.compile(
    r"(?i)(?:could not be delivered to|unable to deliver message to|was not delivered to"
    r"|delivery to the following recipients? failed(?: permanently)?|delivery to|"
    r"failed recipient|final recipient|original recipient|rcpt to|recipient address|recipient"
    r"|unknown user|invalid recipient|address|^to|the following recipients returned permanent errors"
    r"|^mailbox|^user|addressee|destination|bad address|undeliverable to|"
    r"failed to deliver to|your message to|message to|delivering your mail to"
    r"|delivering your message to|deliver your message to|delivery of your message to)"
    r"(?:\s*:\s*|\s+)"
    rf"[<\"']?(?P<a>{_ADDR})[>\"']?(?P<rest>.{{0,2000}})$"
)
# A line that gives the reason first and the address last: "User's mailbox is
# full: <a@b>". The reason has three words at least, so that a header line
# ("Reply-To: <a@b>") is not taken for one.
_TRAILING = re.compile(
    rf"^(?P<rest>[A-Za-z][^:<>@]{{0,40}} [^:<>@]{{0,40}} [^:<>@]{{1,40}}):\s*<(?P<a>{_ADDR})>\s*\.?$"
)
_SEPARATOR = re.compile(r"^\s*[-=*#_~]{5,}")

# Lines that say nothing about the failure itself.
BOILERPLATE: tuple[str, ...] = (
    "this is a permanent error",
    "i've given up",
    "sorry it didn't work out",
    "this message was created automatically",
    "could not be delivered to one or more",
    "the following address(es) failed",
    "the following address failed",
    "please do not reply",
    "do not reply to this",
    "if you have any questions",
    "for further assistance",
    "below is a copy of",
    "this is the mail system at",
    "this is the mailer-daemon",
    "this is the qmail-send program",
    "i'm afraid i wasn't able to deliver",
    "i'm sorry to have to inform you",
    "please verify the addresses",
    "contact customer support",
    "if you are still having difficulty",
    "included is a copy of",
    "the attachment contains the original",
    "delivery to the following recipients failed permanently",
    "delivery to the following recipient failed permanently",
    # Postfix's notice template (bounce.cf), which says nothing about the failure:
    #   I'm sorry to have to inform you that your message could not
    #   be delivered to one or more recipients. It's attached below.
    #   If you do so, please include this problem report. You can
    #   delete your own text from the attached returned message.
    #   --- Delivery report unavailable ---
    "be delivered to one or more recipients. it's attached below",
    "please include this problem report",
    "delete your own text from the attached returned message",
    "delivery report unavailable",
)

# Where the copy of the message begins (lower-case).
ORIGINAL_MARKERS: tuple[str, ...] = (
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "--- the header of the original message is following",
    "----- original message -----",
    "----- unsent message follows -----",
    "----- original message follows -----",
    "original message follows.",
    "original message follows:",
    "------ original message ------",
    "--- original message ---",
    "included is a copy of the message header:",
    "below is a copy of the original message:",
    "***** end of message *****",
    "*****     end of message     *****",
    "the original message headers are included",
    "original message:",
    "--------original message--------",
    "content-type: message/rfc822",
    "------ this is a copy of your message, including all the headers. ------",
    "------ this is a copy of the message's headers. ------",
    "message headers follow.",
    "original message headers:",
    "----- the header of the original message",
    "the header of the original message is following",
)


# Words of a report about a temporary failure (the sender will keep trying).
DELAY_MARKERS: tuple[str, ...] = (
    "technical details of temporary failure",
    "message will be retried",
    "this is a temporary error",
    "will keep trying",
    "delivery attempts will continue",
    "has been delayed",
    "still trying",
)


@dataclass(frozen=True)
class PlainFormat:
    """What a plain-text format looks like (all markers lower-case)."""

    start: tuple[str, ...] = ()  # the per-recipient report starts after one of these
    end: tuple[str, ...] = ORIGINAL_MARKERS  # and stops at one of these
    extra_boilerplate: tuple[str, ...] = ()
    transcript: tuple[str, ...] = ("transcript of session follows",)
    max_block_lines: int = 10


DEFAULT = PlainFormat(start=(
    # Exchange 2003: "Your message ... To: ... did not reach the following recipient(s):"
    "did not reach the following recipient(s):",
))


def scan(msg: Message, fmt: PlainFormat = DEFAULT) -> Decoded | None:
    """Find the failed recipients and the words about each one."""
    body = msg.body
    lower = msg.body_lower
    start = 0
    for marker in fmt.start:
        pos = lower.find(marker)
        if pos >= 0:
            start = lower.find("\n", pos) + 1 if lower.find("\n", pos) >= 0 else len(body)
            break
    end = len(body)
    for marker in fmt.end:
        pos = lower.find(marker, start)
        if 0 <= pos < end:
            end = pos
    report = body[start:end]
    original_text = body[end:]
    if original_text:
        nl = original_text.find("\n")
        original_text = original_text[nl + 1 :] if nl >= 0 else ""
    original = msg.original or headers_of(original_text)
    skip = _skip_addresses(msg, original)
    findings = _findings(report, skip, fmt)
    if not findings:
        failed = msg.headers.get_all("x-failed-recipients")
        candidates = [a for v in failed for a in all_addresses(v)]
        if not candidates and original is not None:
            candidates = [a for a in all_addresses(original.get("to"))][:1]
        diagnostic = _loose_diagnostic(report, fmt)
        findings = [Finding(recipient=a, diagnostic=diagnostic) for a in candidates]
    if not findings:
        return None
    session = transcript(report, fmt)
    lower_report = report.lower()
    delayed = any(m in lower_report for m in DELAY_MARKERS)
    for f in findings:
        if f.recipient and not has_code(f.diagnostic or ""):
            extra = mentions(report, f.recipient)
            if extra:
                f.diagnostic = f"{f.diagnostic or ''} {extra}".strip()
        if session and not has_code(f.diagnostic or ""):
            f.diagnostic = f"{f.diagnostic or ''} {session}".strip()
        if len(findings) == 1 and not has_code(f.diagnostic or ""):
            # the only recipient, and a labelled reason elsewhere in the report:
            #   reject reason: Mailbox full
            #   target mail address: a@b.example
            labelled = _REASON_LINE.search(report)
            if labelled and labelled.group(1).strip().lower() not in (f.diagnostic or "").lower():
                f.diagnostic = f"{f.diagnostic or ''} {labelled.group(1).strip()}".strip()
        if delayed and not f.action:
            f.action = "delayed"
        if f.diagnostic:
            f.command = f.command or detect_command(f.diagnostic)
            f.diagnostic = " ".join(f.diagnostic.split())
    return Decoded(findings, original=original)


_REASON_LINE = re.compile(r"(?im)^\s*(?:reject(?:ion)? )?reason\s*:\s*(\S.{0,200})$")


def _skip_addresses(msg: Message, original: object) -> set[str]:
    skip: set[str] = set()
    for name in ("to", "from", "return-path", "delivered-to", "x-original-to", "reply-to"):
        for a in all_addresses(msg.headers.get(name)):
            skip.add(a.lower())
    return skip


def _findings(report: str, skip: set[str], fmt: PlainFormat) -> list[Finding]:
    lines = report.split("\n")
    hits: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(lines):
        line = raw.strip()
        if "@" not in line or len(line) > 2100:
            continue
        addr, rest = _recipient_on(line)
        if not addr:
            continue
        key = addr.lower()
        # an address in the bounce's own headers is usually the sender's, unless
        # a sentence names it as the one the delivery failed for
        introduced = (_INTRO.search(line) is not None and not _ALONE.match(line)
                      and not line.lower().startswith("to"))
        if key in skip and not introduced:
            continue
        if key in seen:
            continue
        seen.add(key)
        hits.append((i, addr, rest))
    findings: list[Finding] = []
    for n, (i, addr, rest) in enumerate(hits):
        stop = hits[n + 1][0] if n + 1 < len(hits) else len(lines)
        block = [rest] if rest else []
        blank = 0
        for raw in lines[i + 1 : stop]:
            line = raw.strip()
            if not line:
                blank += 1
                if blank >= 2 and block:
                    break
                continue
            if _SEPARATOR.match(line):
                if block:
                    break
                continue
            blank = 0
            if _is_boilerplate(line, fmt):
                continue
            block.append(line)
            if len(block) >= fmt.max_block_lines:
                break
        if not block:
            block = [_before(lines, i, fmt)]
        findings.append(Finding(recipient=addr, diagnostic=" ".join(block),
                                command=detect_command("\n".join(lines[i:stop]))))
    return findings


def _recipient_on(line: str) -> tuple[str | None, str]:
    match = _ALONE.match(line)
    if match:
        rest = line[match.end("a") :].strip().strip('>":').strip()
        if rest.startswith("<") or rest.lower().startswith("on "):
            rest = ""
        return clean_address(match.group("a")), rest.strip("[]() ")
    match = _INTRO.search(line)
    if match:
        return clean_address(match.group("a")), line
    match = _LEADING.match(line)
    if match:
        return clean_address(match.group("a")), match.group("rest").strip()
    match = _TRAILING.match(line)
    if match:
        return clean_address(match.group("a")), match.group("rest").strip()
    return None, ""


def _before(lines: list[str], i: int, fmt: PlainFormat) -> str:
    """The paragraph just above line ``i`` (for formats that give the reason first)."""
    out: list[str] = []
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    while j >= 0 and lines[j].strip() and len(out) < 6:
        line = lines[j].strip()
        if not _SEPARATOR.match(line) and not _is_boilerplate(line, fmt):
            out.append(line)
        j -= 1
    return " ".join(reversed(out))


# Lines that say nothing when they stand alone: Postfix signs its notice with
# a centred "The mail system".
BOILERPLATE_LINES: frozenset[str] = frozenset({"the mail system"})


def _is_boilerplate(line: str, fmt: PlainFormat) -> bool:
    lower = line.lower()
    if lower.strip() in BOILERPLATE_LINES:
        return True
    return any(p in lower for p in BOILERPLATE) or any(p in lower for p in fmt.extra_boilerplate)


_CODE = re.compile(r"(?<!\d)[245]\d\d(?!\d)|[245]\.\d{1,3}\.\d{1,3}")


def has_code(text: str) -> bool:
    return _CODE.search(text) is not None


def mentions(report: str, address: str) -> str:
    """Other lines of the report that name ``address`` and carry a reply code."""
    out: list[str] = []
    lower_addr = address.lower()
    for line in report.split("\n"):
        if lower_addr in line.lower() and has_code(line):
            out.append(line.strip())
            if len(out) >= 3:
                break
    return " ".join(out)


def transcript(report: str, fmt: PlainFormat = DEFAULT) -> str:
    lower = report.lower()
    for marker in fmt.transcript:
        pos = lower.find(marker)
        if pos >= 0:
            nl = report.find("\n", pos)
            chunk = report[nl + 1 : nl + 1 + 3000] if nl >= 0 else ""
            lines: list[str] = []
            for line in chunk.split("\n"):
                if _SEPARATOR.match(line.strip()) and lines:
                    break
                if line.strip():
                    lines.append(line.strip())
            return " ".join(lines[:12])
    return ""


def _loose_diagnostic(report: str, fmt: PlainFormat) -> str:
    lines = [
        line.strip()
        for line in report.split("\n")
        if line.strip() and not _SEPARATOR.match(line.strip()) and not _is_boilerplate(line, fmt)
    ]
    coded = [line for line in lines if has_code(line)]
    return " ".join((coded or lines)[:8])


def recipient_from(text: str) -> str | None:
    return first_address(text)
