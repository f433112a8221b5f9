"""Property tests: parse_message and classify_reply never raise, whatever bytes."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postwarden.classify import classify_reply
from postwarden.parse import parse_message

FIXTURES = sorted(Path(__file__).with_name("fixtures").glob("*.eml"))
SEEDS = [p.read_bytes() for p in FIXTURES]

_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.binary(max_size=4000))
def test_parse_arbitrary_bytes(raw: bytes) -> None:
    result = parse_message(raw)
    assert result.kind in ("bounce", "delay", "delivered", "complaint", "autoreply", "none")
    result.to_json()


@_settings
@given(st.sampled_from(SEEDS), st.integers(0, 4000), st.integers(0, 400), st.binary(max_size=200))
def test_parse_mutated_fixtures(seed: bytes, at: int, cut: int, junk: bytes) -> None:
    at = min(at, len(seed))
    raw = seed[:at] + junk + seed[at + cut :]
    result = parse_message(raw)
    result.to_json()


@_settings
@given(st.text(max_size=2000))
def test_classify_arbitrary_text(text: str) -> None:
    verdict = classify_reply(text)
    assert verdict.reason


def test_deep_nesting_and_huge_headers() -> None:
    nested = b"Content-Type: multipart/mixed; boundary=a\n\n--a\n" * 500
    assert parse_message(nested).error is None or parse_message(nested).kind == "none"
    huge = b"Subject: " + b"x" * 2_000_000 + b"\n\nbody"
    parse_message(huge)
    assert parse_message(b"").error
    assert parse_message(b"\x00\xff" * 1000).kind == "none"
