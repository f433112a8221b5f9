import pytest

from postwarden.address import normalize
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
