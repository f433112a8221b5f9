"""qmail (qmail-send) failure notices and their many relabelled copies::

    Hi. This is the qmail-send program at mx.example.org.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <a@example.org>:
    192.0.2.1 does not like recipient.
    Remote host said: 550 5.1.1 <a@example.org>... User unknown
    Giving up on 192.0.2.1.

    --- Below this line is a copy of the message.

Each recipient is alone on a line in angle brackets with a colon; the lines up
to the next recipient or blank line are what happened. qmail's own words say
which command failed ("does not like recipient" is RCPT, "did not like our
DATA" is DATA, "Connected to ... but sender was rejected" is MAIL).
"""

from __future__ import annotations

import re

from postwarden.classify.command import detect_command
from postwarden.parse.decoder import Decoded, Finding
from postwarden.parse.message import Message, clean_address, headers_of

NAME = "qmail"
PRIORITY = 600

_MARK = re.compile(r"(?i)this is the qmail-send program at|qmail-send program|this is the \S+ program at")
_END = re.compile(r"(?im)^---\s*(?:below this line is a copy|enclosed is a copy)")
_RECIPIENT = re.compile(r"^<(?P<a>[^\s<>]+@[^\s<>]+)>:?\s*(?P<rest>.*)$")

# qmail's own sentences and the SMTP command each one points at.
COMMANDS: dict[str, tuple[str, ...]] = {
    # 192.0.2.1 does not like recipient.
    "RCPT": ("does not like recipient",),
    # 192.0.2.1 failed after I sent the message. / did not like our DATA
    "DATA": ("failed after i sent the message", "did not like our data",
             "failed on data command", "failed after sending data"),
    # Connected to 192.0.2.1 but sender was rejected.
    "MAIL": ("but sender was rejected",),
    # Connected to 192.0.2.1 but greeting failed. / my name was rejected.
    "HELO": ("but greeting failed", "but my name was rejected"),
}

# qmail's own failure sentences (qmail-remote, qmail-local and the qmail-ldap
# patch) and the reasons they name. They are qmail speaking, not a remote
# server, so they decide even when qmail adds that it gave up after the queue
# lifetime ("I'm not going to try again; this message has been in the queue
# too long.").
MESSAGES: dict[str, tuple[str, ...]] = {
    # Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)
    # Sorry. Although I'm listed as a best-preference MX or A for that host, ...
    "networkerror": ("wasn't able to establish an smtp connection",
                     "although i'm listed as a best-preference mx or a for that host"),
    # Sorry, I couldn't find any host named example.invalid. (#5.1.2)
    "hostunknown": ("sorry, i couldn't find any host",),
    # Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)
    "notaccept": ("couldn't find a mail exchanger or ip address",),
    # Sorry, no mailbox here by that name. (#5.1.1)
    "userunknown": ("no mailbox here by that name",),
    # qmail-ldap: Unable to contact LDAP server. (#4.4.3)
    "systemerror": ("unable to contact ldap server", "temporary failure in ldap lookup",
                    "timeout while performing search on ldap server",
                    "unable to login into ldap server", "automatic homedir creator crashed",
                    "illegal value in ldap attribute",
                    "ldap attribute is not given but mandatory"),
    # qmail-ldap: Mailaddress is administratively disabled. (#5.2.1)
    "suspend": ("mailaddress is administrativ",),
}


def decode(msg: Message) -> Decoded | None:
    if "i'm afraid i wasn't able to deliver" not in msg.body_lower:
        return None
    body = msg.body
    if not _MARK.search(body[:4000]):
        return None
    end_match = _END.search(body)
    end = end_match.start() if end_match else len(body)
    findings: list[Finding] = []
    said: list[str] = []
    current: Finding | None = None
    for raw in body[:end].split("\n"):
        line = raw.strip()
        match = _RECIPIENT.match(line)
        if match:
            if current is not None:
                _close(current, said)
            current = Finding(recipient=clean_address(match.group("a")))
            said = [match.group("rest")] if match.group("rest") else []
            findings.append(current)
            continue
        if current is None:
            continue
        if not line:
            if said:
                _close(current, said)
                current, said = None, []
            continue
        said.append(line)
    if current is not None:
        _close(current, said)
    if not findings:
        return None
    original = msg.original
    if original is None and end_match is not None:
        original = headers_of(body[end:].split("\n", 1)[-1])
    return Decoded(findings, original=original)


def _close(finding: Finding, said: list[str]) -> None:
    text = " ".join(said)
    finding.diagnostic = text or None
    lower = text.lower()
    if "remote host said" not in lower:
        finding.reason = next(
            (reason for reason, phrases in MESSAGES.items() if any(p in lower for p in phrases)),
            None,
        )
    finding.command = next(
        (cmd for cmd, phrases in COMMANDS.items() if any(p in lower for p in phrases)), None
    ) or detect_command(text)
