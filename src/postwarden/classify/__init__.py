"""Bounce reasons: the reason table, provider phrase tables, and classification
of a bare SMTP reply or log line."""

from __future__ import annotations

from postwarden.classify import reasons
from postwarden.classify.reasons import REASONS, SENDER_SIDE, Reason
from postwarden.classify.reply import ReplyVerdict, classify_reply, decide, is_hard_bounce

__all__ = [
    "REASONS",
    "SENDER_SIDE",
    "Reason",
    "ReplyVerdict",
    "classify_reply",
    "decide",
    "is_hard_bounce",
    "reasons",
]
