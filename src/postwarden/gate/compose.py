"""The copy of a submitted message that goes to one recipient: our control headers
taken out, a Message-ID where there was none, List-Unsubscribe on marketing mail, and
a DKIM signature over the result. Works on the raw bytes so the body goes out exactly
as it came in."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import dkim

# Control headers a sending application sets for the relay; never passed on.
STREAM_HEADER = "x-postwarden-stream"
TOPIC_HEADER = "x-postwarden-topic"
CONTROL_HEADERS = frozenset({STREAM_HEADER, TOPIC_HEADER})

# What the signature covers: the fields a recipient sees and the unsubscribe headers,
# so nobody on the way can add or alter them without breaking it.
SIGNED_HEADERS = (b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type")

_FIELD_START = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.M)


@dataclass(frozen=True)
class Split:
    """A message's header fields (each with its folded lines) and its body."""

    fields: list[bytes]
    body: bytes

    def get(self, name: str) -> str | None:
        for field in self.fields:
            key, _, value = field.partition(b":")
            if key.strip().lower() == name.encode():
                return re.sub(r"\s+", " ", value.decode("utf-8", "replace")).strip()
        return None

    def without(self, names: frozenset[str]) -> Split:
        kept = [f for f in self.fields if f.partition(b":")[0].strip().lower().decode("latin-1") not in names]
        return Split(kept, self.body)

    def with_first(self, headers: list[tuple[str, str]]) -> Split:
        added = [f"{name}: {value}\r\n".encode() for name, value in headers]
        return Split(added + self.fields, self.body)

    def bytes(self) -> bytes:
        return b"".join(self.fields) + b"\r\n" + self.body


def split(raw: bytes) -> Split:
    """Header fields and body, with CRLF line ends throughout (what SMTP carries and
    DKIM hashes)."""
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    end = raw.find(b"\r\n\r\n")
    head, body = (raw, b"") if end < 0 else (raw[:end + 2], raw[end + 4:])
    if head.startswith(b"\r\n"):  # no header at all
        return Split([], raw[2:])
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return Split(fields, body)


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


@dataclass(frozen=True)
class Signer:
    domain: str
    selector: str
    private_key: bytes

    def sign(self, message: bytes) -> bytes:
        signature = dkim.sign(message, self.selector.encode(), self.domain.encode(), self.private_key,
                              include_headers=list(SIGNED_HEADERS))
        return bytes(signature) + message
