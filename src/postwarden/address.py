"""Address normalisation: the one canonical form the ledger stores and compares.

Surrounding whitespace and angle brackets are stripped, the domain is lower-cased
and IDNA-encoded, and the local part is lower-cased because every mailbox provider
we deal with treats it case-insensitively (RFC 5321 allows otherwise, practice
does not)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import idna

from postwarden.errors import InvalidAddress

# RFC 5322 dot-atom text for the local part; quoted local parts are accepted as-is.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*\Z")
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\.)+"\Z')
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_ADDRESS_LITERAL = re.compile(r"\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9a-fA-F:.]+)\]\Z")
# The common shape of an address already in canonical form: lower-case ASCII, a local
# part of at most 64 characters whose dots stand between other characters, and labels
# that neither start nor end with a hyphen. Possessive quantifiers keep it linear: it
# runs once for every address the gate checks.
CANONICAL = re.compile(r"(?=[^@]{1,64}+@)[a-z0-9](?:[a-z0-9_+-]++|\.(?![.@]))*+@"
                       r"(?:[a-z0-9][a-z0-9-]{0,62}+(?<!-)\.)++[a-z]{2,63}+\Z")


def normalize(raw: str) -> str:
    """Return the canonical form of ``raw`` or raise :class:`InvalidAddress`."""
    text = raw.strip().lower()
    if CANONICAL.match(text):
        return text
    return _normalize_slow(raw)


def _normalize_slow(raw: str) -> str:
    text = raw.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    if not text:
        raise InvalidAddress("empty address: give an address such as user@example.com")
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress(f"{raw!r} is not an address: expected local-part@domain")
    if any(c.isspace() for c in domain) or (not local.startswith('"') and any(c.isspace() for c in local)):
        raise InvalidAddress(f"{raw!r} contains whitespace outside quotes: an address has none")
    if not (_DOT_ATOM.match(local) or _QUOTED.match(local)):
        raise InvalidAddress(f"{raw!r} has an invalid local part {local!r}")
    if len(local.encode("utf-8")) > 64:
        raise InvalidAddress(f"{raw!r}: the local part is longer than 64 octets")
    return f"{local.lower()}@{_normalize_domain(domain, raw)}"


def _normalize_domain(domain: str, raw: str) -> str:
    if _ADDRESS_LITERAL.match(domain):
        return domain.lower()
    domain = domain.rstrip(".")
    try:
        ascii_domain = (
            domain.lower() if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")
        )
    except idna.IDNAError as exc:
        raise InvalidAddress(f"{raw!r} has a domain that cannot be IDNA-encoded: {exc}") from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidAddress(
            f"{raw!r} has an invalid domain {domain!r}: expected a name such as example.com"
        )
    if len(ascii_domain) > 253:
        raise InvalidAddress(f"{raw!r}: the domain is longer than 253 characters")
    return ascii_domain


def canonical(raw: str) -> str | None:
    """The canonical form (the common case inline, the rest by `normalize`), or None
    for something that is not an address."""
    text = raw.strip().lower()
    if CANONICAL.match(text):
        return text
    try:
        return normalize(raw)
    except InvalidAddress:
        return None


# CANONICAL for many addresses at once, one per line: the whole batch is lower-cased
# and matched by the regex engine in one call, with no Python work per address.
_LINE = CANONICAL.pattern.replace("[^@]", "[^@\n]").removesuffix(r"\Z")
_CANONICAL_LINES = re.compile(f"(?:{_LINE}\n)*+{_LINE}")


def canonical_all(addresses: Sequence[str]) -> list[str | None]:
    """``canonical`` of each address. The hot path of every check: when every address
    is already in canonical shape but for case (the usual batch), it costs a few
    passes of C code over one string."""
    if addresses:
        lowered = "\n".join(addresses).lower()
        # A newline inside an address would shift the lines; then go one by one.
        if lowered.count("\n") == len(addresses) - 1 and _CANONICAL_LINES.fullmatch(lowered):
            return list(lowered.split("\n"))
    match = CANONICAL.match
    return [low if match(low := raw.strip().lower()) else canonical(raw) for raw in addresses]
