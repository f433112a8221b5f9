import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwarden.address import CANONICAL, _normalize_slow, canonical, canonical_all, normalize
from postwarden.errors import InvalidAddress


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("  <Alice@Example.COM> ", "alice@example.com"),
        ("bob.smith+news@sub.example.org", "bob.smith+news@sub.example.org"),
        ("user@bücher.example", "user@xn--bcher-kva.example"),
        ("User@EXAMPLE.com.", "user@example.com"),
        ('"odd person"@example.com', '"odd person"@example.com'),
        ("x@[192.0.2.1]", "x@[192.0.2.1]"),
    ],
)
def test_normalize_gives_canonical_form(raw: str, canonical: str) -> None:
    assert normalize(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "plainaddress", "@example.com", "user@", "user@@example.com", "a b@example.com",
     "user@localhost", "user@-bad-.com", "user@exa_mple.com", ".user@example.com",
     "us..er@example.com", "x" * 65 + "@example.com"],
)
def test_normalize_refuses_non_addresses(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize(raw)


@given(st.text(alphabet="abcXYZ019._+-@ <>\u00fc", max_size=40))
def test_the_fast_path_accepts_only_what_is_already_canonical(text: str) -> None:
    if CANONICAL.match(text):
        assert _normalize_slow(text) == text


@pytest.mark.parametrize("text", ["a..b@example.com", "a.@example.com", ".a@example.com", "a@-b.com",
                                  "a@b-.com", "a@b..com", "x" * 65 + "@example.com", "a@b.c0m"])
def test_the_fast_path_leaves_odd_shapes_to_the_full_check(text: str) -> None:
    assert not CANONICAL.match(text)


@given(st.lists(st.text(alphabet="abcXYZ019._+-@ <>\n\u00fc", max_size=24), max_size=12))
def test_a_batch_is_canonicalised_as_each_address_alone(batch: list[str]) -> None:
    assert canonical_all(batch) == [canonical(raw) for raw in batch]


@pytest.mark.parametrize("batch", [
    ["Ann@Example.com", "bob@example.org"],  # all canonical but for case: matched in one go
    ["ann@example.com", "a..b@example.com"],
    ["ann@example.com\nbob@example.org", "carl@example.net"],  # a newline would shift the lines
    ["ann@example.com", ""],
])
def test_batches_of_each_shape_match_one_by_one(batch: list[str]) -> None:
    assert canonical_all(batch) == [canonical(raw) for raw in batch]
