"""Whatever bytes arrive, translation either works or raises MalformedPayload."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwarden.intake import webhooks
from postwarden.intake.webhooks import MalformedPayload

PROVIDERS = sorted(webhooks.providers())
NOW = datetime(2026, 1, 1)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["event", "email", "timestamp", "type", "status", "reason", "event-data", "recipient",
                         "RecordType", "Type", "ID", "Email", "Message", "notificationType", "mail",
                         "bounce", "messageId", "bouncedRecipients", "emailAddress", "delivery-status",
                         "severity", "code", "recipients", "delivery", "sg_event_id", "BouncedAt"]),
        inner, max_size=6),
    max_leaves=20,
)


def _translate_only_malformed(provider: str, body: bytes) -> None:
    with contextlib.suppress(MalformedPayload):
        webhooks.prepare(webhooks.get(provider).translate(body), NOW)


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(provider: str, body: bytes) -> None:
    _translate_only_malformed(provider, body)


@pytest.mark.parametrize("provider", PROVIDERS)
@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_arbitrary_json(provider: str, value: object) -> None:
    _translate_only_malformed(provider, json.dumps(value).encode())
    _translate_only_malformed(provider, json.dumps([value]).encode())
    _translate_only_malformed(provider, json.dumps({"event-data": value, "Type": "Notification",
                                                    "Message": json.dumps(value)}).encode())
