"""The view of one message that every decoder receives.

A decoder needs the top-level headers, the readable text of the report (the
parts a person or program wrote about the failure), any machine-readable
``message/delivery-status`` and ``message/feedback-report`` parts, and the
headers of the returned original message. :func:`build` assembles that view
once, so each decoder only looks for its own signs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from postwarden.parse import mime
from postwarden.parse.mime import Headers, Part

MAX_BODY_CHARS = 256 * 1024

_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\uffff-]"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\x80-\uffff-]{0,127}"
    r"@[A-Za-z0-9\x80-\uffff][A-Za-z0-9.\x80-\uffff-]{0,252}"
)
_QUOTED_ADDRESS = re.compile(r'"[^"\n]{1,64}"@[A-Za-z0-9][A-Za-z0-9.-]{0,252}')
_DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
_ORIGINAL_TYPES = (
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/partial",
)


@dataclass
class Message:
    headers: Headers
    root: Part
    subject: str
    from_: str
    body: str
    dsn: list[str] = field(default_factory=list)
    feedback: str | None = None
    original: Headers | None = None
    original_body: str = ""
    original_part: Part | None = None
    _lower: str | None = None

    @property
    def body_lower(self) -> str:
        if self._lower is None:
            self._lower = self.body.lower()
        return self._lower


def build(raw: bytes) -> Message:
    text = mime.normalize_newlines(raw).decode("latin-1")
    return view(mime.parse_part(text))


def view(root: Part) -> Message:
    """The decoders' view of one parsed entity (a whole message, or a message
    attached to another)."""
    headers = root.headers
    body_parts: list[str] = []
    dsn: list[str] = []
    feedback: list[str] = []
    original: list[Part] = []
    _collect(root, body_parts, dsn, feedback, original, top=True)
    body = "\n".join(body_parts)[:MAX_BODY_CHARS]
    msg = Message(
        headers=headers,
        root=root,
        subject=mime.decode_words(headers.get("subject")),
        from_=mime.decode_words(headers.get("from")),
        body=body,
        dsn=dsn,
        feedback=feedback[0] if feedback else None,
    )
    if original:
        part = original[0]
        msg.original = part.headers
        msg.original_part = part
        msg.original_body = part.raw_body[:8192] if part.children == [] else ""
    return msg


def _collect(
    part: Part,
    body: list[str],
    dsn: list[str],
    feedback: list[str],
    original: list[Part],
    top: bool = False,
) -> None:
    ctype = part.ctype
    if part.children and ctype.startswith("multipart/"):
        children = part.children
        if ctype == "multipart/alternative":
            plain = [c for c in children if c.ctype == "text/plain"]
            if plain:
                children = plain + [c for c in children if not c.ctype.startswith("text/")]
        for child in children:
            _collect(child, body, dsn, feedback, original)
        return
    if ctype in _DSN_TYPES:
        dsn.append(_inner_text(part))
        return
    if ctype == "message/feedback-report":
        feedback.append(_inner_text(part))
        return
    if ctype in _ORIGINAL_TYPES and not top:
        if part.children:
            original.append(part.children[0])
        return
    if top or ctype.startswith("text/") or (ctype == "application/octet-stream" and not body):
        if ctype == "text/html":
            body.append(mime.html_to_text(part.text))
        elif ctype.startswith("text/") or top:
            body.append(part.text)


def attached_report(msg: Message) -> Message | None:
    """When ``msg`` only wraps a delivery report (a bounce forwarded as an
    attachment, or a gateway that re-sends the DSN it received), the view of
    that report; otherwise None."""
    part = msg.original_part
    if part is None or msg.dsn or msg.feedback is not None:
        return None
    if part.ctype != "multipart/report" or "delivery-status" not in part.params.get("report-type", ""):
        return None
    return view(part)


_FORWARD_SUBJECT = re.compile(r"(?i)^\s*(?:fwd?|tr|wg|rv|enc)\s*:")
_QUOTED_FROM = re.compile(r"(?m)^>[ \t]?From:[ \t]")
_DAEMON = re.compile(r"(?i)mailer-daemon|postmaster|mail delivery")


def forwarded_report(msg: Message) -> Message | None:
    """A bounce someone forwarded inline ("Fwd: Returned mail ..."), quoted
    with "> ": the view of the quoted bounce, unquoted; otherwise None."""
    if msg.dsn or not _FORWARD_SUBJECT.match(msg.subject):
        return None
    start = _QUOTED_FROM.search(msg.body)
    if start is None:
        return None
    lines: list[str] = []
    for line in msg.body[start.start():].split("\n"):
        if not line.startswith(">"):
            if line.strip():
                break
            continue
        lines.append(line[2:] if line.startswith("> ") else line[1:])
    inner = view(mime.parse_part("\n".join(lines)))
    return inner if _DAEMON.search(inner.from_) else None


def _inner_text(part: Part) -> str:
    """A delivery-status or feedback-report part: its text (some senders encode it)."""
    return part.text


def first_address(text: str) -> str | None:
    if '"@' in text:
        quoted = _QUOTED_ADDRESS.search(text)  # "neko..nyaan"@example.org
        if quoted is not None:
            return clean_address(quoted.group(0))
    match = _ADDRESS.search(text)
    if match is None:
        match = _QUOTED_ADDRESS.search(text)
        if match is None:
            return None
    return clean_address(match.group(0))


def all_addresses(text: str) -> list[str]:
    return [clean_address(m) for m in _ADDRESS.findall(text)]


def clean_address(addr: str) -> str:
    addr = addr.strip().strip("<>'()[],;:").strip()
    if not (addr.startswith('"') and '"@' in addr):  # keep a quoted local part whole
        addr = addr.strip('"').strip()
    while addr and addr[-1] in ".-":
        addr = addr[:-1]
    if addr.lower().startswith("mailto:"):
        addr = addr[7:]
    return addr


def split_original(body: str, markers: tuple[str, ...]) -> tuple[str, str]:
    """Split a plain-text bounce at the first marker line that introduces the
    returned message: (report, original). Markers are lower-case substrings."""
    lower = body.lower()
    best = -1
    for marker in markers:
        pos = lower.find(marker)
        if pos >= 0 and (best < 0 or pos < best):
            best = pos
    if best < 0:
        return body, ""
    line_end = body.find("\n", best)
    return body[:best], body[line_end + 1 :] if line_end >= 0 else ""


def headers_of(text: str) -> Headers | None:
    """Parse the header block at the start of ``text`` (after blank lines)."""
    text = text.lstrip("\n ")
    if not mime.looks_like_header_block(text):
        return None
    headers, _ = mime.split_headers(text[: mime.MAX_HEADER_CHARS])
    return headers if len(headers) else None
