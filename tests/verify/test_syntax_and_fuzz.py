"""Syntax by email-validator, the verdict table, and that no input crashes a pure part."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.address import normalize
from postwarden.verify.assess import assess, is_role
from postwarden.verify.domains import DomainReport
from postwarden.verify.result import REASONS, VERDICTS, verdict_of
from postwarden.verify.syntax import check_syntax
from postwarden.verify.tables import POPULAR_DOMAINS
from postwarden.verify.typo import suggest


def test_internationalised_addresses_are_valid_and_canonical() -> None:
    found = check_syntax("用户@例子.广告")
    assert found.valid and found.ascii_domain == "xn--fsqu00a.xn--4rr70v"
    assert found.canonical == "用户@xn--fsqu00a.xn--4rr70v"
    assert check_syntax(" <Jürgen@München.DE> ").canonical == "jürgen@xn--mnchen-3ya.de"
    assert check_syntax('"two words"@example.com').valid


def test_invalid_addresses_say_why() -> None:
    for text, words in [("a..b@example.com", "two periods"), ("ann", "@-sign"),
                        ("ann@host.invalid", "special-use"), ("ann@exa mple.com", "invalid characters"),
                        ("a" * 2000 + "@example.com", "longer than")]:
        found = check_syntax(text)
        assert not found.valid and words in (found.error or ""), (text, found.error)


def test_role_accounts_ignore_case_and_tags() -> None:
    assert is_role("Postmaster") and is_role("abuse+x") and is_role("noreply")
    assert not is_role("ann") and not is_role("postmasters")


def test_the_verdict_is_the_worst_reason() -> None:
    assert verdict_of(()) == "deliverable"
    assert verdict_of(("role", "disposable")) == "risky"
    assert verdict_of(("role", "no_such_domain")) == "undeliverable"
    assert all(r.verdict in VERDICTS and r.description for r in REASONS.values())
    # Only what is about the recipient rather than about reaching them passes a re-check.
    assert {c for c, r in REASONS.items() if r.passes_recheck} == {"role", "disposable"}


ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
ADDRESS_LIKE = st.builds(lambda a, b, c: f"{a}@{b}.{c}", st.text(max_size=40), st.text(max_size=40),
                         st.sampled_from(["com", "net", "de", "广告", "", "c0m", "co.uk"]))


@settings(max_examples=400, deadline=None)
@given(st.one_of(ANY_TEXT, ADDRESS_LIKE))
def test_no_input_crashes_syntax_suggestion_or_verdict(text: str) -> None:
    found = check_syntax(text)
    if found.valid:
        assert found.canonical is not None and normalize(found.canonical) == found.canonical
        assert found.ascii_domain.isascii()
    else:
        assert found.error
    suggested = suggest(text)
    assert suggested is None or suggested in POPULAR_DOMAINS
    report = DomainReport(found.ascii_domain, None) if found.valid else None
    verification = assess(found, report, disposable=False)
    assert verification.verdict in VERDICTS
    assert verification.as_dict()["address"] == (found.canonical or found.raw)
