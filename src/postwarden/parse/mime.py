"""A small, forgiving MIME splitter.

Python's :mod:`email` package is thorough but slow and allocates a great deal; a
bounce decoder needs far less: the top-level headers, the decoded text of the
human-readable and machine-readable parts, and the headers of the returned
message. This module gives exactly that, never raises on broken input, and caps
how much text it decodes so a huge attachment costs (almost) nothing.

Line endings are normalised to LF before anything else (CRLF and lone CR are
both seen in the wild).
"""

from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass, field

# Caps keep the worst case linear and small: a 20 MB message is split, but only
# the first bytes of each part are decoded and scanned.
MAX_HEADER_CHARS = 256 * 1024
MAX_PART_CHARS = 512 * 1024
MAX_PARTS = 64
MAX_DEPTH = 6

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?]{0,2000})\?=")
_ENCODED_GAP = re.compile(r"(\?=)[ \t\n]+(=\?)")
_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]{1,80})\s*=\s*("(?:[^"\\]|\\.){0,1000}"|[^;\s]{0,1000})')
_TAG = re.compile(r"<[^<>]{0,2000}>")
_ENTITY = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}


def normalize_newlines(raw: bytes) -> bytes:
    if b"\r" not in raw:
        return raw
    # "\r\r\n" (a CRLF file passed through a CRLF converter) is one line end too.
    return raw.replace(b"\r\n", b"\n").replace(b"\r\n", b"\n").replace(b"\r", b"\n")


class Headers:
    """Header fields in order; names compared case-insensitively; values unfolded."""

    __slots__ = ("_fields", "_index")

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields
        index: dict[str, list[str]] = {}
        for name, value in fields:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def get(self, name: str, default: str = "") -> str:
        values = self._index.get(name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return self._index.get(name, [])

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._fields)

    def items(self) -> list[tuple[str, str]]:
        return self._fields


def split_headers(text: str) -> tuple[Headers, str]:
    """Split ``text`` (LF line endings) into its header block and body."""
    if text.startswith("\n"):
        return Headers([]), text[1:]
    end = text.find("\n\n", 0, MAX_HEADER_CHARS)
    if end < 0:
        if len(text) <= MAX_HEADER_CHARS:
            head, body = text, ""
        else:
            head, body = text[:MAX_HEADER_CHARS], text[MAX_HEADER_CHARS:]
    else:
        head, body = text[:end], text[end + 2 :]
    return parse_header_block(head), body


def parse_header_block(head: str) -> Headers:
    fields: list[tuple[str, str]] = []
    for line in head.split("\n"):
        if not line:
            continue
        if line[0] in " \t":
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {line.strip()}" if value else line.strip())
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or len(name) > 80 or " " in name.strip():
            continue
        fields.append((name.strip(), value.strip()))
    return Headers(fields)


def looks_like_header_block(text: str) -> bool:
    """True when ``text`` starts with something shaped like a header field."""
    line = text[:200].split("\n", 1)[0]
    name, sep, _ = line.partition(":")
    return bool(sep) and 0 < len(name) < 60 and " " not in name and "\t" not in name


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """``text/plain; charset="x"`` -> ("text/plain", {"charset": "x"})."""
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    if ";" in value:
        for key, raw in _PARAM.findall(value[:4000]):
            if raw.startswith('"'):
                raw = raw[1:-1].replace('\\"', '"')
            params.setdefault(key.lower().rstrip("*"), raw)
    return main, params


def decode_charset(data: bytes, charset: str) -> str:
    charset = (charset or "").strip().strip('"').lower()
    if charset in ("", "us-ascii", "ascii", "utf-8", "utf8"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    if charset in ("iso-2022-jp", "iso-2022-jp-2", "csiso2022jp"):
        charset = "iso2022_jp_ext"
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")
    try:
        return data.decode(charset, "replace")
    except Exception:  # a codec can fail in odd ways on garbage: degrade, never raise
        return data.decode("latin-1")


def decode_transfer(data: str, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    raw = data.encode("latin-1", "replace")
    if encoding == "base64":
        cleaned = bytes(c for c in raw if c not in b" \t\n") if b" " in raw else raw.replace(b"\n", b"")
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
        try:
            return binascii.a2b_base64(cleaned)
        except (binascii.Error, ValueError):
            return raw
    if encoding == "quoted-printable":
        try:
            return binascii.a2b_qp(raw)
        except (binascii.Error, ValueError):
            return raw
    return raw


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value."""
    if "=?" not in value:
        return value
    value = _ENCODED_GAP.sub(r"\1\2", value)

    def one(match: re.Match[str]) -> str:
        charset, enc, text = match.group(1), match.group(2).lower(), match.group(3)
        charset = charset.split("*", 1)[0]
        if enc == "b":
            data = decode_transfer(text, "base64")
        else:
            data = binascii.a2b_qp(text.replace("_", " ").encode("latin-1", "replace"), header=True)
        return decode_charset(data, charset)

    return _ENCODED_WORD.sub(one, value)


def html_to_text(html: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.{0,20000}?</\1\s*>", " ", html[:MAX_PART_CHARS])
    text = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</tr\s*>|</li\s*>|</h\d\s*>", "\n", text)
    text = _TAG.sub("", text)
    for entity, char in _ENTITY.items():
        text = text.replace(entity, char)
    return text


@dataclass
class Part:
    """One MIME entity: its headers, type, decoded text (for text-like types)
    and, for multiparts and message/rfc822, its children."""

    headers: Headers
    ctype: str
    params: dict[str, str]
    raw_body: str
    children: list[Part] = field(default_factory=list)
    _text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            body = self.raw_body[:MAX_PART_CHARS * 2]
            encoding = self.headers.get("content-transfer-encoding", "")
            if encoding.lower().strip() in ("base64", "quoted-printable"):
                data = decode_transfer(body, encoding)
            else:
                data = body.encode("latin-1", "replace")
            self._text = decode_charset(data, self.params.get("charset", ""))[:MAX_PART_CHARS]
        return self._text

    def walk(self) -> list[Part]:
        out: list[Part] = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


def parse_part(text: str, depth: int = 0, budget: list[int] | None = None) -> Part:
    """Parse one entity (headers + body) from LF text, recursing into multiparts."""
    if budget is None:
        budget = [MAX_PARTS]
    headers, body = split_headers(text)
    ctype, params = content_type(headers.get("content-type", "text/plain"))
    if not ctype or "/" not in ctype:
        ctype = "text/plain"
    part = Part(headers, ctype, params, body)
    if depth >= MAX_DEPTH or budget[0] <= 0:
        return part
    if ctype.startswith("multipart/"):
        boundary = params.get("boundary", "")
        if not boundary:
            boundary = _guess_boundary(body)
        if boundary:
            for chunk in split_multipart(body, boundary):
                if budget[0] <= 0:
                    break
                budget[0] -= 1
                part.children.append(parse_part(chunk, depth + 1, budget))
    elif ctype in ("message/rfc822", "message/global", "message/partial", "text/rfc822-headers",
                   "message/rfc822-headers"):
        inner = body
        encoding = headers.get("content-transfer-encoding", "").lower().strip()
        if encoding in ("base64", "quoted-printable"):
            inner = decode_transfer(body[: MAX_PART_CHARS * 4], encoding).decode("latin-1")
        inner = inner.lstrip("\n")
        if looks_like_header_block(inner):
            budget[0] -= 1
            part.children.append(parse_part(inner, depth + 1, budget))
    return part


def _guess_boundary(body: str) -> str:
    """A multipart without a boundary parameter: take the first ``--xyz`` line."""
    for line in body[:8000].split("\n"):
        if line.startswith("--") and 3 < len(line) < 200 and " " not in line.strip():
            return line[2:].strip()
    return ""


def split_multipart(body: str, boundary: str) -> list[str]:
    delimiter = "--" + boundary
    chunks: list[str] = []
    pos = body.find(delimiter)
    if pos < 0:
        return chunks
    while pos >= 0 and len(chunks) < MAX_PARTS:
        start = body.find("\n", pos)
        if start < 0:
            break
        if body.startswith(delimiter + "--", pos):
            break
        nxt = body.find("\n" + delimiter, start)
        chunk = body[start + 1 : nxt if nxt >= 0 else len(body)]
        chunks.append(chunk)
        pos = nxt + 1 if nxt >= 0 else -1
    return chunks
