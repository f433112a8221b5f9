"""Typo suggestions: the accuracy targets on the test lists, and the rules behind them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from postwarden.verify.tables import POPULAR_DOMAINS
from postwarden.verify.typo import distance, suggest

DATA = Path(__file__).parent / "data"


def typos() -> list[tuple[str, str]]:
    text = (DATA / "domain_typos.csv").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return [(row["typo"], row["intended"]) for row in csv.DictReader(lines)]


def real_domains() -> list[str]:
    return [line.strip() for line in (DATA / "real_domains.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_the_lists_are_as_described() -> None:
    pairs, real = typos(), real_domains()
    assert len(pairs) == 200 == len({t for t, _ in pairs})
    assert all(intended in POPULAR_DOMAINS and typo not in POPULAR_DOMAINS for typo, intended in pairs)
    assert len(real) == 200 == len(set(real))
    assert not set(real) & set(POPULAR_DOMAINS)


def test_at_least_95_percent_of_typos_are_corrected() -> None:
    missed = [(typo, intended, suggest(typo)) for typo, intended in typos() if suggest(typo) != intended]
    assert len(missed) <= 10, missed


def test_at_most_1_percent_of_real_domains_get_a_suggestion() -> None:
    false_alarms = [(domain, suggest(domain)) for domain in real_domains() if suggest(domain)]
    assert len(false_alarms) <= 2, false_alarms


@pytest.mark.parametrize(("typed", "meant"), [
    ("gmial.com", "gmail.com"), ("hotmial.com", "hotmail.com"), ("yaho.com", "yahoo.com"),
    ("outlok.com", "outlook.com"), ("GMAIL.CON", "gmail.com"), ("gmail.co", "gmail.com"),
    ("hotmial.co.uk", "hotmail.co.uk"), ("hotmail.fe", None),  # .de and .fr equally near
    ("yahoo.gr", None), ("gmx.fr", None),  # another country's site
    ("gmc.com", None), ("ms.com", None),  # short names: nearly all of them exist
    ("aol.con", "aol.com"), ("gmail.com", None), ("", None), ("x" * 300, None),
])
def test_rules(typed: str, meant: str | None) -> None:
    assert suggest(typed) == meant


def test_costs_follow_the_keyboard() -> None:
    assert distance("gmail", "gmail") == 0
    assert distance("gmial", "gmail") == 0.5  # swapped
    assert distance("gnail", "gmail") == 0.5  # n is next to m
    assert distance("gpail", "gmail") == 1.0  # p is not
    assert distance("gmaill", "gmail") == 0.5  # doubled
    assert distance("mail", "gmail") > 1.0  # the first letter is seldom dropped
    assert distance("g0ogle", "google") == 0.5  # looks alike
