"""Typo suggestions for mailbox domains: ``gmial.com`` → ``gmail.com``.

A typed domain is compared with each popular domain by an edit distance whose costs
follow how people mistype: swapping two letters, hitting a neighbouring key, or
doubling or dropping a repeated letter cost half of an arbitrary edit. A suggestion
is made only when one popular domain is clearly the nearest and near enough; the
limits keep real domains that merely look alike (``gmc.com``, ``yahoo.gr``) alone.
Pure: data in, data out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache, lru_cache

from postwarden.verify.tables import COUNTRY_CODES, KEYBOARD_ROWS, POPULAR_DOMAINS

# How far a suggestion may be, in the costs below; a longer name tolerates more.
LIMIT = 1.0
LIMIT_LONG = 1.5
LONG_NAME = 8
# Three-letter and shorter names are dense (nearly every one is a registered domain),
# so only a mistyped top-level domain is corrected for them (``aol.con``).
SHORTEST_NAME = 4
# The nearest candidate must beat the next by this much, or the guess is a coin toss.
MARGIN = 0.5

CHEAP = 0.5
# Characters that look alike, typed for one another when copying an address by eye.
LOOKALIKES = frozenset({("0", "o"), ("o", "0"), ("1", "l"), ("l", "1"), ("1", "i"), ("i", "1")})


@cache
def _neighbours() -> dict[str, frozenset[str]]:
    """Keys that touch on a QWERTY keyboard: the same row either side, and the row
    above and below at the same position and one to the side."""
    positions = {ch: (row, col) for row, keys in enumerate(KEYBOARD_ROWS) for col, ch in enumerate(keys)}
    found: dict[str, set[str]] = {ch: set() for ch in positions}
    for ch, (row, col) in positions.items():
        for other, (orow, ocol) in positions.items():
            if other != ch and ((orow == row and abs(ocol - col) == 1)
                                or (abs(orow - row) == 1 and ocol - col in (0, 1 if orow < row else -1))):
                found[ch].add(other)
                found[other].add(ch)
    return {ch: frozenset(near) for ch, near in found.items()}


def _substitution(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if b in _neighbours().get(a, ()) or (a, b) in LOOKALIKES:
        return CHEAP
    return 1.0


@lru_cache(maxsize=4096)
def _indel_costs(text: str) -> tuple[float, ...]:
    """The cost of each character of ``text`` being extra (or missing): cheap when it
    repeats a neighbour, dear at the start, where people seldom slip but where dropping
    a letter often spells another real name (``mail.com``, ``cloud.com``)."""
    costs = []
    for i, ch in enumerate(text):
        repeated = (i > 0 and text[i - 1] == ch) or (i + 1 < len(text) and text[i + 1] == ch)
        costs.append(1.0 + CHEAP if i == 0 else CHEAP if repeated else 1.0)
    return tuple(costs)


def distance(typed: str, target: str, cutoff: float = float("inf")) -> float:
    """Weighted optimal-string-alignment distance from ``typed`` to ``target``; anything
    beyond ``cutoff`` may be reported as infinite (most candidates are far, and
    knowing that early is what makes a thousand domains a second possible)."""
    n, m = len(typed), len(target)
    typed_indel, target_indel = _indel_costs(typed), _indel_costs(target)
    previous2: list[float] = []
    previous = [0.0] * (m + 1)
    for j in range(1, m + 1):
        previous[j] = previous[j - 1] + target_indel[j - 1]
    for i in range(1, n + 1):
        a, extra = typed[i - 1], typed_indel[i - 1]
        current = [previous[0] + extra] + [0.0] * m
        for j in range(1, m + 1):
            b = target[j - 1]
            best = min(previous[j] + extra, current[j - 1] + target_indel[j - 1],
                       previous[j - 1] + (0.0 if a == b else _substitution(a, b)))
            if i > 1 and j > 1 and a == target[j - 2] and typed[i - 2] == b and a != b:
                best = min(best, previous2[j - 2] + CHEAP)
            current[j] = best
        # Every later cell builds on this row or, by a swap, the one before it.
        if min(current) > cutoff and min(previous) > cutoff:
            return float("inf")
        previous2, previous = previous, current
    return previous[m]


def _letters_apart(letters: dict[str, int], length: int, target: str) -> float:
    """A lower bound of :func:`distance` from the letters alone: each letter one side
    has and the other lacks takes an edit of at least the cheap cost."""
    other = _letter_counts(target)
    surplus = sum(n - other.get(ch, 0) for ch, n in letters.items() if n > other.get(ch, 0))
    shortfall = len(target) - (length - surplus)
    return CHEAP * max(surplus, shortfall)


@lru_cache(maxsize=4096)
def _letter_counts(text: str) -> dict[str, int]:
    return dict(Counter(text))


def _country_variant(typed: str, target: str) -> bool:
    """``yahoo.gr`` beside ``yahoo.fr``: the same name in another country, not a typo."""
    typed_rest, _, typed_cc = typed.rpartition(".")
    target_rest, _, target_cc = target.rpartition(".")
    return typed_rest == target_rest and typed_cc in COUNTRY_CODES and target_cc in COUNTRY_CODES


def _within_limit(typed: str, target: str, cost: float) -> bool:
    typed_name = typed.partition(".")[0]
    if typed_name == target.partition(".")[0]:
        return cost <= LIMIT  # only the top-level domain differs: it is short whatever the name
    if len(typed_name) < SHORTEST_NAME:
        return False
    return cost <= (LIMIT_LONG if len(typed_name) >= LONG_NAME else LIMIT)


def suggest(domain: str, popular: Iterable[str] = POPULAR_DOMAINS) -> str | None:
    """The popular domain ``domain`` is probably a typo of, or None."""
    return _suggest(domain.strip().lower().rstrip("."), tuple(popular))


@lru_cache(maxsize=65536)
def _suggest(typed: str, popular: tuple[str, ...]) -> str | None:
    if not typed or typed in popular or len(typed) > 253:
        return None
    # Beyond this no candidate can be the suggestion nor stand close enough beside it.
    cutoff = LIMIT_LONG + MARGIN
    letters = dict(Counter(typed))
    distinct = frozenset(typed)
    # Cheapest test first: each letter the target lacks altogether costs an edit.
    costs = sorted((distance(typed, target, cutoff), target) for target in popular
                   if abs(len(target) - len(typed)) <= 3
                   and CHEAP * len(distinct - _letter_counts(target).keys()) <= cutoff
                   and _letters_apart(letters, len(typed), target) <= cutoff
                   and not _country_variant(typed, target))
    if not costs:
        return None
    cost, best = costs[0]
    runner_up = costs[1][0] if len(costs) > 1 else float("inf")
    if runner_up - cost < MARGIN or not _within_limit(typed, best, cost):
        return None
    return best
