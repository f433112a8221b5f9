"""A forgiving reader that turns any bytes into the parts of a message a spam filter
looks at: its headers, the readable text of its body, the links it carries and the
kinds of parts it is made of.

Mail in the wild is often broken: missing blank lines, wrong charsets, bad base64,
HTML without a content type, boundaries that never close. :func:`read_message` never
raises on such input. It reads at most :data:`MAX_MESSAGE_BYTES` of a message and keeps
at most ``max_text`` characters of body text, so the cost of one message is bounded.
"""

from __future__ import annotations

import binascii
import html
import re
from dataclasses import dataclass

MAX_MESSAGE_BYTES = 256 * 1024
"""Bytes of a message that are read at all; the rest is ignored."""

MAX_TEXT_CHARS = 6000
"""Default number of characters of body text kept (after decoding and HTML stripping)."""

MAX_HEADERS = 100
MAX_HEADER_VALUE = 4000
MAX_HEADER_BYTES = 64 * 1024
MAX_PARTS = 40
MAX_DEPTH = 4
MAX_URLS = 40
_MAX_HTML_CHARS = 60_000


@dataclass(frozen=True)
class MailView:
    """What the filter sees of one message."""

    headers: tuple[tuple[str, str], ...]
    """``(name, value)`` in order; names lower-cased, values unfolded and decoded."""
    subject: str
    text: str
    """Readable body text: decoded text parts, HTML reduced to its words."""
    urls: tuple[str, ...]
    """Links found in the text and in HTML attributes (lower-cased)."""
    parts: tuple[str, ...]
    """One entry per leaf part: its content type, plus ``;ext=...`` for named files."""
    quirks: tuple[str, ...]
    """Signs of unusual construction: ``no-header-break``, ``bad-base64``, ``html-only``..."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


# --- small decoders -------------------------------------------------------------

_CHARSET_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,40}")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes to text in the declared charset, else UTF-8, else Windows-1252. Never raises."""
    if charset:
        name = charset.strip().strip("\"'")
        if _CHARSET_NAME.fullmatch(name) and name.lower() not in _NOT_TEXT_CODECS:
            try:
                return data.decode(name, errors="replace")
            except Exception:  # unknown, binary-only or odd codecs: fall through
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# Codec names Python accepts that are not charsets a mail could honestly declare.
_NOT_TEXT_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "unicode-escape", "raw-unicode-escape", "idna",
     "punycode", "undefined", "mbcs", "oem", "string_escape", "escape"}
)

_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_B64_FOREIGN = re.compile(rb"[^A-Za-z0-9+/=\s]")


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Lenient base64: stray characters are dropped, missing padding is added.
    Returns the bytes and whether the input was clean."""
    clean = _B64_FOREIGN.search(data) is None
    cleaned = _B64_JUNK.sub(b"", data)
    usable = len(cleaned) - len(cleaned) % 4
    tail = cleaned[usable:]
    # a lone trailing character carries no whole byte; two or three need padding
    cleaned = cleaned[:usable] + (tail + b"=" * (4 - len(tail)) if len(tail) >= 2 else b"")
    try:
        return binascii.a2b_base64(cleaned), clean
    except (binascii.Error, ValueError):
        return b"", False


def decode_quoted_printable(data: bytes) -> bytes:
    try:
        return binascii.a2b_qp(data)
    except (binascii.Error, ValueError):
        return data


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([bBqQ])\?([^?\s]*)\?=")
_ENCODED_GAP = re.compile(r"(\?=)\s+(=\?)")


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?charset?B?...?=``); leave the rest as is."""
    if "=?" not in value:
        return value
    value = _ENCODED_GAP.sub(r"\1\2", value)

    def one(match: re.Match[str]) -> str:
        charset, kind, payload = match.group(1), match.group(2), match.group(3)
        raw = payload.encode("ascii", errors="replace")
        if kind in "bB":
            data, _ = decode_base64(raw)
        else:
            data = decode_quoted_printable(raw.replace(b"_", b" "))
        return decode_bytes(data, charset.split("*", 1)[0])

    return _ENCODED_WORD.sub(one, value)


# --- headers ----------------------------------------------------------------------

_HEADER_NAME = re.compile(rb"[!-9;-~]{1,76}")
_PARAM = re.compile(r"""(?i)\b(boundary|charset|name|filename)\s*\*?=\s*(?:"([^"]*)"|([^\s;"]+))""")


def _header_text(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        return decode_bytes(raw)


_FOLD = re.compile(rb"\n[ \t]+")


def parse_headers(block: bytes) -> tuple[list[tuple[str, str]], bool]:
    """Header lines to ``(name, value)`` pairs; also says whether junk lines were seen."""
    headers: list[tuple[str, str]] = []
    junk = False
    for line in _FOLD.sub(b" ", block.lstrip(b" \t\n")).split(b"\n"):
        if not line:
            continue
        name, colon, value = line.partition(b":")
        name = name.rstrip()
        if not colon or not _HEADER_NAME.fullmatch(name):
            junk = True
            continue
        if len(headers) < MAX_HEADERS:
            headers.append((name.decode("ascii").lower(), _header_text(value[:MAX_HEADER_VALUE].strip())))
    return headers, junk


def content_type(headers: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The lower-case ``type/subtype`` (empty when absent) and its useful parameters."""
    for name, value in headers:
        if name == "content-type":
            mime = value.split(";", 1)[0].strip().lower()
            params = {
                m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
                for m in _PARAM.finditer(value)
            }
            return mime, params
    return "", {}


def _first(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value
    return ""


def _split_head_body(raw: bytes) -> tuple[bytes, bytes, bool]:
    """Split at the first empty line. Without one, a block that looks like headers is
    all headers; anything else is all body."""
    if raw.startswith(b"\n"):
        return b"", raw[1:], True
    cut = raw.find(b"\n\n")
    if cut >= 0:
        return raw[: cut + 1], raw[cut + 2 :], True
    first_line = raw.split(b"\n", 1)[0]
    colon = first_line.find(b":")
    if colon > 0 and _HEADER_NAME.fullmatch(first_line[:colon]):
        return raw, b"", False
    return b"", raw, False


# --- HTML -------------------------------------------------------------------------

_SCRIPT_OPEN = re.compile(r"(?i)<(script|style)\b")
_SCRIPT_CLOSE = {"script": re.compile(r"(?i)</script\s*>"), "style": re.compile(r"(?i)</style\s*>")}
_INLINE_TAG = re.compile(r"(?i)</?(?:b|i|u|s|em|font|span|strong|small|big|sub|sup|wbr)\b[^<>]{0,500}>")
_TAG = re.compile(r"<[^<>]{0,2000}>")
# Both link patterns run on lower-cased text: far faster than re.IGNORECASE.
_LINK_ATTR = re.compile(r"""(?:href|src|action|background)\s*=\s*["']?([^"'\s<>]{1,500})""")


def _drop_spans(text: str) -> str:
    """Remove comments and script/style bodies in one linear pass."""
    out: list[str] = []
    pos = 0
    while True:
        comment = text.find("<!--", pos)
        script = _SCRIPT_OPEN.search(text, pos)
        if comment < 0 and script is None:
            out.append(text[pos:])
            break
        if script is None or (0 <= comment < script.start()):
            out.append(text[pos:comment])
            end = text.find("-->", comment + 4)
            if end < 0:
                break
            pos = end + 3
        else:
            out.append(text[pos : script.start()])
            close = _SCRIPT_CLOSE[script.group(1).lower()].search(text, script.end())
            if close is None:
                break
            pos = close.end()
    return "".join(out)


def html_to_text(markup: str) -> tuple[str, list[str]]:
    """Words of an HTML document and the links in its attributes."""
    markup = markup[:_MAX_HTML_CHARS]
    links: list[str] = _LINK_ATTR.findall(markup.lower())
    text = _drop_spans(markup)
    text = _INLINE_TAG.sub("", text)
    text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return text, links


# --- URLs -------------------------------------------------------------------------

_URL_IN_TEXT = re.compile(r"(?:https?://|ftp://|www\.)[^\s<>\"'()\[\]{}]{1,300}")


def url_host(url: str) -> str:
    """The lower-case host of a URL (or of a ``www.`` bare link), or ``""``."""
    rest = url.strip()
    scheme = rest.find("://")
    if scheme >= 0:
        if scheme > 10:
            return ""
        rest = rest[scheme + 3 :]
    elif not rest.lower().startswith("www."):
        return ""
    for stop in "/?#\\":
        cut = rest.find(stop)
        if cut >= 0:
            rest = rest[:cut]
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest.split("]", 1)[0] + "]"
    return rest.split(":", 1)[0].strip(".").lower()


# --- the walk over MIME parts -------------------------------------------------------


class _Collector:
    def __init__(self, max_text: int) -> None:
        self.max_text = max_text
        self.text: list[str] = []
        self.size = 0
        self.urls: list[str] = []
        self.parts: list[str] = []
        self.quirks: set[str] = set()
        self.saw_plain = False
        self.saw_html = False

    @property
    def full(self) -> bool:
        return self.size >= self.max_text

    def add_text(self, text: str) -> None:
        text = " ".join(text[: self.max_text * 2].split())
        if not text:
            return
        room = self.max_text - self.size
        if room <= 0:
            return
        if len(text) > room:
            text = text[:room]
        self.text.append(text)
        self.size += len(text) + 1

    def add_urls(self, urls: list[str]) -> None:
        room = MAX_URLS - len(self.urls)
        if room > 0:
            self.urls.extend(urls[:room])


def _walk(headers: list[tuple[str, str]], body: bytes, out: _Collector, depth: int) -> None:
    if len(out.parts) >= MAX_PARTS:
        return
    mime, params = content_type(headers)
    if mime.startswith("multipart/") and depth < MAX_DEPTH:
        boundary = params.get("boundary", "").strip()
        if boundary:
            _walk_multipart(body, boundary.encode("utf-8", errors="replace"), out, depth)
            return
        out.quirks.add("multipart-without-boundary")
        mime = "text/plain"
    if mime == "message/rfc822" and depth < MAX_DEPTH:
        inner_head, inner_body, _ = _split_head_body(body)
        inner, _ = parse_headers(inner_head)
        subject = decode_header_value(_first(inner, "subject"))
        if subject:
            out.add_text(subject)
        _walk(inner, inner_body, out, depth + 1)
        return
    _leaf(headers, mime, params, body, out)


def _walk_multipart(body: bytes, boundary: bytes, out: _Collector, depth: int) -> None:
    chunks = (b"\n" + body).split(b"\n--" + boundary)
    if len(chunks) == 1:
        out.quirks.add("boundary-not-found")
        _leaf([], "text/plain", {}, body, out)
        return
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        if len(out.parts) >= MAX_PARTS or out.full:
            return
        newline = chunk.find(b"\n")
        chunk = chunk[newline + 1 :] if newline >= 0 else b""
        head, part_body, _ = _split_head_body(chunk)
        part_headers, _ = parse_headers(head)
        _walk(part_headers, part_body, out, depth + 1)
    if not closed:
        out.quirks.add("unclosed-multipart")


def _leaf(
    headers: list[tuple[str, str]], mime: str, params: dict[str, str], body: bytes, out: _Collector
) -> None:
    filename = params.get("filename") or params.get("name") or ""
    if not filename:
        disposition = _first(headers, "content-disposition")
        if disposition:
            match = _PARAM.search(disposition)
            if match:
                filename = match.group(2) if match.group(2) is not None else match.group(3)
    label = mime or "none"
    if filename:
        ext = filename.rsplit(".", 1)[-1].lower()[:10] if "." in filename else ""
        label += f";ext={ext}"
    out.parts.append(label)
    is_text = mime in ("", "text/plain", "text/html") or (mime.startswith("text/") and not filename)
    if not is_text or out.full:
        return
    encoding = _first(headers, "content-transfer-encoding").strip().lower()
    limit = out.max_text * 8
    if encoding == "base64":
        data, clean = decode_base64(body[: limit * 4 // 3 + 4])
        if not clean:
            out.quirks.add("bad-base64")
    elif encoding == "quoted-printable":
        data = decode_quoted_printable(body[: limit * 2])
    else:
        data = body[:limit]
    text = decode_bytes(data, params.get("charset"))
    sniffed_html = not mime and text.lstrip()[:200].lower().startswith(("<html", "<!doctype html", "<body"))
    if mime == "text/html" or sniffed_html:
        out.saw_html = True
        words, links = html_to_text(text)
        out.add_urls(links)
        out.add_urls(_URL_IN_TEXT.findall(words[: out.max_text * 2].lower()))
        out.add_text(words)
    else:
        out.saw_plain = True
        out.add_urls(_URL_IN_TEXT.findall(text[: out.max_text * 2].lower()))
        out.add_text(text)


def read_message(raw: bytes, *, max_text: int = MAX_TEXT_CHARS) -> MailView:
    """Read ``raw`` (any bytes at all) into a :class:`MailView`. Never raises."""
    try:
        return _read(raw, max_text)
    except Exception:  # a last guard: input must never crash the filter
        text = decode_bytes(raw[:max_text])
        return MailView((), "", text, (), (), ("unreadable",))


def _read(raw: bytes, max_text: int) -> MailView:
    raw = raw[:MAX_MESSAGE_BYTES]
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if raw.startswith(b"From "):  # an mbox separator line
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    head, body, had_break = _split_head_body(raw)
    headers, junk = parse_headers(head[:MAX_HEADER_BYTES])
    out = _Collector(max_text)
    if not had_break:
        out.quirks.add("no-header-break")
    if junk:
        out.quirks.add("junk-header-lines")
    subject = decode_header_value(_first(headers, "subject"))
    _walk(headers, body, out, 0)
    if out.saw_html and not out.saw_plain:
        out.quirks.add("html-only")
    decoded = tuple(
        (name, decode_header_value(value) if "=?" in value else value) for name, value in headers
    )
    return MailView(
        headers=decoded,
        subject=subject,
        text=" ".join(out.text),
        urls=tuple(out.urls),
        parts=tuple(out.parts),
        quirks=tuple(sorted(out.quirks)),
    )
