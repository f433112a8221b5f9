"""The forgiving message reader: decoding, HTML, links, caps, and never raising."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.mailbox import SpamFilter, read_message
from postwarden.mailbox.features import extract, registered_domain
from postwarden.mailbox.message import decode_header_value, url_host

MULTIPART = b"""From: "Shop" <offers@shop.example.net>
To: bob@example.org
Subject: =?utf-8?B?R3LDvMOfZSBhdXMgV2llbg==?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XYZ"

preamble is ignored
--XYZ
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 cr=E8me soft=
break joined
--XYZ
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

""" + base64.encodebytes(
    b'<html><head><style>p {color: red}</style><script>var hidden = 1;</script></head>'
    b'<body><p>Visit <a href="https://Deals.Example.co.uk/path?q=1">our sh<b></b>op</a>'
    b"<!-- comment words -->&amp; save</p><img src='http://10.0.0.1/pixel.gif'></body></html>"
) + b"""--XYZ--
epilogue
"""


def test_multipart_parts_are_decoded_and_html_reduced_to_words() -> None:
    view = read_message(MULTIPART)
    assert view.subject == "Grüße aus Wien"
    assert "Café crème softbreak joined" in view.text
    # inline tags vanish without splitting a word; style, script and comments go
    assert "our shop" in view.text and "& save" in view.text
    assert "color" not in view.text and "hidden" not in view.text and "comment" not in view.text
    assert "https://deals.example.co.uk/path?q=1" in view.urls
    assert "http://10.0.0.1/pixel.gif" in view.urls
    assert view.parts == ("text/plain", "text/html")
    assert view.header("from") == '"Shop" <offers@shop.example.net>'


def test_crlf_and_cr_line_endings_read_the_same() -> None:
    lf = read_message(MULTIPART)
    assert read_message(MULTIPART.replace(b"\n", b"\r\n")) == lf
    assert read_message(MULTIPART.replace(b"\n", b"\r")) == lf


def test_html_without_content_type_is_sniffed() -> None:
    raw = b"Subject: hi\n\n<HTML><BODY>Hello <A HREF=http://x.example.com/a>there</A></BODY></HTML>\n"
    view = read_message(raw)
    assert "Hello there" in view.text and "<" not in view.text
    assert view.urls == ("http://x.example.com/a",)
    assert "html-only" in view.quirks


def test_broken_structure_is_noted_not_fatal() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b1\nContent-Transfer-Encoding: 8bit\n\n"
        b"--b1\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        b"SGVsbG8gd29ybGQ!!!*\n"  # stray characters in base64
        b"--b1\nContent-Type: application/octet-stream; name=\"setup.EXE\"\n\nMZ\x00\x01"
    )
    view = read_message(raw)
    assert view.text.startswith("Hello world")
    assert "bad-base64" in view.quirks and "unclosed-multipart" in view.quirks
    assert view.parts == ("text/plain", "application/octet-stream;ext=exe")


def test_no_blank_line_and_no_headers() -> None:
    assert read_message(b"just some words, no headers at all").text == "just some words, no headers at all"
    only_headers = read_message(b"From: a@example.com\nSubject: nothing else")
    assert only_headers.subject == "nothing else" and only_headers.text == ""
    assert "no-header-break" in only_headers.quirks


def test_unknown_and_hostile_charsets_fall_back() -> None:
    for charset in ("x-unknown", "base64", "rot13", "unicode_escape", "idna", "../../etc"):
        raw = f"Content-Type: text/plain; charset={charset}\n\nna\xefve \\u0041".encode("latin-1")
        assert "na" in read_message(raw).text


def test_text_is_capped() -> None:
    raw = b"Subject: long\n\n" + b"word " * 100_000
    view = read_message(raw, max_text=500)
    assert len(view.text) <= 500


def test_encoded_words_and_url_helpers() -> None:
    assert decode_header_value("=?iso-8859-1?Q?Caf=E9_au_lait?= =?utf-8?Q?_ok?=") == "Café au lait ok"
    assert decode_header_value("=?bogus?B?!!!?= plain") == " plain"
    assert url_host("HTTP://user@Sub.Example.COM:8080/x") == "sub.example.com"
    assert url_host("www.example.org/path") == "www.example.org"
    assert url_host("mailto:x@example.org") == ""
    assert registered_domain("a.b.example.co.uk") == "example.co.uk"
    assert registered_domain("mail.example.com") == "example.com"


def test_features_name_what_they_hash() -> None:
    view = read_message(MULTIPART)
    named = extract(view, with_names=True)
    assert named.names is not None and len(named.names) == len(named.hashes)
    assert "url-domain:example.co.uk" in named.names
    assert "from-addr:@shop.example.net" in named.names
    assert "body:our +1 shop" in named.names
    # the same message always hashes the same, names or not
    assert (extract(view).hashes == named.hashes).all()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_never_raise(raw: bytes) -> None:
    view = read_message(raw)
    assert isinstance(view.text, str)
    spam_filter = SpamFilter()
    spam_filter.classify(raw, explain=5)
    spam_filter.learn(raw, is_spam=True)


_PIECES = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=\"q\"\n", b"--q\n", b"--q--\n", b"\n",
        b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n",
        b"Content-Type: text/html; charset=\"utf-7\"\n", b"Content-Type: message/rfc822\n",
        b"<a href=http://x.example/>", b"<!--", b"<script>", b"=?utf-8?B?", b"?=", b"=E9=\n",
        b"Subject: =?x?Q?=FF?=\n", b"\xff\xfe\x00", b"\r\n", b" folded\n", b"From: <@>\n", b"AAAA==",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES | st.binary(max_size=40), max_size=60))
def test_mime_shaped_junk_never_raises(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    read_message(raw)
    SpamFilter().classify(raw, explain=3)
