"""Features of a message, hashed to 64-bit numbers.

Each feature is a string such as ``body:unsubscribe``, ``subj:free +2 offer`` (an
orthogonal sparse bigram: two words with the distance between them),
``hdr:x-mailer`` or ``url-domain:example.com``. Only the hashes are used to score and
train; the strings are built only when someone asks why a message scored as it did.

Words are hashed with CRC-32 seeded by their zone, then mixed to 64 bits; word pairs
are combined from those numbers without building their strings. Everything here is
deterministic across processes, so a saved model scores the same after reloading.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat

import numpy as np
import numpy.typing as npt

from postwarden.mailbox.message import MailView, url_host

U64 = npt.NDArray[np.uint64]

OSB_WINDOW = 4
"""Word pairs are formed with each of the next ``OSB_WINDOW`` words."""

_MAX_HEADER_TOKENS = 40
_MAX_TOKEN = 30

# A word: letters, digits, '$' and any non-ASCII byte (so UTF-8 words stay whole), with
# inner dots, dashes, apostrophes and commas (so $1,000.00 and e-mail stay one word), at
# most 30 bytes (longer runs are cut into pieces). A run of two or more '!' is a word too.
_WORD = re.compile(
    rb"[A-Za-z0-9$\x80-\xff](?:[A-Za-z0-9$\x80-\xff'.,_-]{0,%d}[A-Za-z0-9$\x80-\xff])?|!{2,}"
    % (_MAX_TOKEN - 2)
)
_AUTH_RESULT = re.compile(r"(?i)\b(spf|dkim|dmarc|arc|iprev|auth|smtp\.auth)\s*=\s*([a-z]+)")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")

# Headers whose words are features of their own (readable in explanations). All
# headers also feed the byte grams, and every header name is a feature.
_WORD_HEADERS = frozenset(
    {"from", "to", "reply-to", "message-id", "x-mailer", "user-agent", "content-type",
     "list-id", "precedence"}
)

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_PAIR = [np.uint64(0x9E3779B97F4A7C15 + 2 * d + 1) for d in range(OSB_WINDOW + 1)]
_S33 = np.uint64(33)


def mix(h: U64) -> U64:
    """A 64-bit finaliser (the MurmurHash3 one): spreads every input bit everywhere."""
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    return h ^ (h >> _S33)


@lru_cache(maxsize=512)
def zone_seed(zone: str) -> int:
    return zlib.crc32(zone.encode())


def _pair_seeds(h: U64) -> U64:
    """Orthogonal sparse bigrams: word ``i`` with word ``i + d`` for ``d`` in 1..window,
    combined from the words' mixed hashes (to be mixed once more)."""
    pieces = [h[:-d] * _PAIR[d] + h[d:] for d in range(1, min(OSB_WINDOW, len(h) - 1) + 1)]
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.uint64)


def words_of(text: str) -> list[bytes]:
    return _WORD.findall(text.lower().encode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Features:
    hashes: U64
    names: list[str] | None = None
    """The readable name of each hash, in the same order (only when asked for)."""


class _Builder:
    """Collects 32-bit word hashes and byte grams, then mixes them all in one pass
    (numpy calls have a fixed cost, so one big call beats many small ones)."""

    def __init__(self, with_names: bool) -> None:
        self.values: list[int] = []
        self.paired: list[tuple[int, int]] = []
        self.grams: list[U64] = []
        self.names: list[str] | None = [] if with_names else None
        self.pair_names: list[str] = []
        self.gram_names: list[str] = []

    def words(self, zone: str, words: list[bytes], pairs: bool = False) -> None:
        if not words:
            return
        start = len(self.values)
        self.values.extend(map(zlib.crc32, words, repeat(zone_seed(zone))))
        if pairs and len(words) > 1:
            self.paired.append((start, len(self.values)))
        if self.names is not None:
            text = [w.decode("utf-8", errors="replace") for w in words]
            self.names.extend(f"{zone}:{w}" for w in text)
            if pairs:
                for d in range(1, min(OSB_WINDOW, len(text) - 1) + 1):
                    self.pair_names.extend(
                        f"{zone}:{a} +{d} {b}" for a, b in zip(text[:-d], text[d:], strict=True)
                    )

    def tags(self, zone: str, values: Iterable[str]) -> None:
        self.words(zone, [v.encode("utf-8", errors="replace")[:200] for v in values])

    def byte_grams(self, zone: int, data: bytes) -> None:
        """Every run of ``GRAM`` consecutive bytes (robust to odd spacing and spelling)."""
        if len(data) < GRAM:
            return
        a = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
        n = len(a) - GRAM + 1
        g = a[:n].copy()
        for k in range(1, GRAM):
            g |= a[k : k + n] << np.uint64(8 * k)
        self.grams.append(g | np.uint64(zone << 40))
        if self.names is not None:
            label = _GRAM_ZONES[zone]
            text = data.decode("latin-1")
            self.gram_names.extend(f"{label}:{text[i : i + GRAM]!r}" for i in range(n))

    def build(self) -> Features:
        words = mix(np.array(self.values, dtype=np.uint64))
        combined = [_pair_seeds(words[a:b]) for a, b in self.paired] + self.grams
        hashes = np.concatenate([words, mix(np.concatenate(combined))]) if combined else words
        names = None
        if self.names is not None:
            names = self.names + self.pair_names + self.gram_names
        return Features(hashes, names)


GRAM = 4
"""Bytes per byte gram."""
HEAD_GRAM_BYTES = 2500
TEXT_GRAM_BYTES = 3000
"""Byte grams are taken from this many bytes of the headers and of the body text."""
_GRAM_ZONES = {1: "head4", 2: "subj4", 3: "body4"}
GRAM_ZONES = {"head4": "header text", "subj4": "subject text", "body4": "body text"}
"""Names of the byte-gram zones, for explanations."""


def registered_domain(host: str) -> str:
    """A cheap stand-in for the public-suffix rule: the last two labels, or three when
    the second-last is a common second-level label (``example.co.uk``)."""
    labels = host.strip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go"})
_IP_HOST = re.compile(r"^\[?[0-9.:a-f]+\]?$")


def _length_bucket(n: int) -> str:
    return str(min(n.bit_length(), 16))


def _address_tags(value: str) -> list[str]:
    tags: list[str] = []
    for address in _ADDRESS.findall(value)[:3]:
        address = address.lower().strip(".")
        domain = address.rsplit("@", 1)[-1]
        tags += [address, "@" + domain, "@@" + registered_domain(domain)]
    if not tags:
        tags.append("none")
    return tags


def extract(view: MailView, *, with_names: bool = False) -> Features:
    """The features of one message (duplicates allowed; the model counts each once)."""
    out = _Builder(with_names)
    out.words("subj", words_of(view.subject), pairs=True)
    out.words("body", words_of(view.text), pairs=True)
    head = "\n".join(f"{name}: {value}" for name, value in view.headers)
    out.byte_grams(1, head.encode("utf-8", errors="replace")[:HEAD_GRAM_BYTES])
    out.byte_grams(2, view.subject.encode("utf-8", errors="replace")[:200])
    out.byte_grams(3, view.text[:TEXT_GRAM_BYTES].encode("utf-8", errors="replace")[:TEXT_GRAM_BYTES])

    names: list[str] = []
    for name, value in view.headers:
        names.append(name)
        if name in _WORD_HEADERS and value:
            out.words(name, words_of(value[:600])[:_MAX_HEADER_TOKENS])
    out.tags("hdr", names)

    for name in ("from", "reply-to", "return-path", "sender"):
        address = view.header(name)
        if address is not None:
            out.tags(name + "-addr", _address_tags(address))
    for value in view.header_values("authentication-results")[:3]:
        out.tags("auth", [f"{m.lower()}={r.lower()}" for m, r in _AUTH_RESULT.findall(value)])

    hosts = [url_host(u) for u in view.urls]
    out.tags("url-host", [h for h in hosts if h])
    out.tags("url-domain", [registered_domain(h) for h in hosts if h and not _IP_HOST.match(h)])
    shape = [f"count-{_length_bucket(len(view.urls))}"]
    if any(_IP_HOST.match(h) for h in hosts if h):
        shape.append("ip-literal")
    out.tags("url", shape)

    out.tags("part", view.parts)
    out.tags(
        "shape",
        [
            *view.quirks,
            f"text-{_length_bucket(len(view.text))}",
            f"headers-{_length_bucket(len(view.headers))}",
            "no-subject" if not view.subject else "subject",
        ],
    )
    return out.build()
