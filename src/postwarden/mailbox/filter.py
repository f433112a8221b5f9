"""The learning spam filter: classify a message for a user, and learn from that user's
"spam" and "not spam" clicks at once.

    spam_filter = SpamFilter()
    verdict = spam_filter.classify(raw, user="alice@example.org")
    spam_filter.learn(raw, is_spam=True, user="alice@example.org")   # the click

A message is read once into a :class:`PreparedMessage`; classify and learn both accept
either raw bytes or a prepared message, so a caller that does both pays for reading once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from postwarden.mailbox.features import GRAM_ZONES, extract
from postwarden.mailbox.message import MAX_TEXT_CHARS, MailView, read_message
from postwarden.mailbox.model import I64, Encoded, LearnedModel, fingerprint
from postwarden.mailbox.verdict import FilterPolicy, Reason, Signal, Verdict


@dataclass(frozen=True)
class PreparedMessage:
    view: MailView
    encoded: Encoded
    user: str | None


class SpamFilter:
    def __init__(
        self,
        model: LearnedModel | None = None,
        policy: FilterPolicy | None = None,
        *,
        max_text: int = MAX_TEXT_CHARS,
    ) -> None:
        self.model = model or LearnedModel()
        self.policy = policy or FilterPolicy()
        self.max_text = max_text

    def prepare(self, raw: bytes, user: str | None = None) -> PreparedMessage:
        return self.prepare_view(read_message(raw, max_text=self.max_text), raw, user)

    def prepare_view(self, view: MailView, raw: bytes, user: str | None) -> PreparedMessage:
        """For a caller that has read the message already (to find its user, say)."""
        encoded = self.model.encode(extract(view).hashes, user, fingerprint(raw, user))
        return PreparedMessage(view, encoded, user)

    def _prepared(self, message: bytes | PreparedMessage, user: str | None) -> PreparedMessage:
        if isinstance(message, PreparedMessage):
            return message
        return self.prepare(message, user)

    def classify(
        self,
        message: bytes | PreparedMessage,
        *,
        user: str | None = None,
        signals: Sequence[Signal] = (),
        explain: int = 0,
    ) -> Verdict:
        """Decide where ``message`` goes for ``user``; with ``explain`` > 0, list that
        many of the features (and all signals) that weighed most."""
        prepared = self._prepared(message, user)
        model_score = self.model.score(prepared.encoded)
        abstained = not self.model.ready
        score = (0.0 if abstained else model_score) + sum(s.score for s in signals)
        reasons: tuple[Reason, ...] = ()
        if explain > 0:
            reasons = tuple(Reason(s.name, s.score, "signal", s.description) for s in signals)
            if not abstained:
                reasons += self._reasons(prepared, explain)
        return Verdict(self.policy.decide(score), score, model_score, abstained, reasons)

    def learn(self, message: bytes | PreparedMessage, *, is_spam: bool, user: str | None = None) -> bool:
        """The user's click. A click opposite to an earlier one on the same message undoes
        the earlier one first; a repeated click changes nothing. Returns whether the model
        changed."""
        return self.model.learn(self._prepared(message, user).encoded, is_spam)

    def mark_spam(self, message: bytes | PreparedMessage, user: str | None = None) -> bool:
        return self.learn(message, is_spam=True, user=user)

    def mark_not_spam(self, message: bytes | PreparedMessage, user: str | None = None) -> bool:
        return self.learn(message, is_spam=False, user=user)

    def _reasons(self, prepared: PreparedMessage, limit: int) -> tuple[Reason, ...]:
        """The named features that weighed most. Byte grams are many and small each, so
        they are summed per zone into one reason that quotes the heaviest few."""
        named = extract(prepared.view, with_names=True)
        assert named.names is not None
        layers: list[tuple[I64, str | None, str]] = [(prepared.encoded.global_slots, None, "global")]
        if prepared.user is not None and len(prepared.encoded.user_slots):
            layers.append((prepared.encoded.user_slots, prepared.user, "user"))
        found: list[Reason] = []
        scale = self.model.scale(prepared.encoded)
        for slots, owner, source in layers:
            names: dict[int, str] = {}
            for slot, name in zip(self.model.slots(named.hashes, owner).tolist(), named.names, strict=True):
                names.setdefault(slot, name)
            weights = self.model.weights[slots].astype(np.float64) * scale
            grams: dict[str, list[tuple[float, str]]] = {}
            for slot, weight in zip(slots.tolist(), weights.tolist(), strict=True):
                if not weight:
                    continue
                name = names.get(slot, f"#{slot}")
                zone, _, text = name.partition(":")
                if zone in GRAM_ZONES:
                    grams.setdefault(zone, []).append((weight, text))
                else:
                    found.append(Reason(name, weight, source))
            for zone, pieces in grams.items():
                total = sum(w for w, _ in pieces)
                heavy = sorted(pieces, key=lambda p: p[0] * total, reverse=True)[:4]
                quoted = " ".join(text for _, text in heavy)
                label = f"{GRAM_ZONES[zone]} ({len(pieces)} byte grams, e.g. {quoted})"
                found.append(Reason(label, total, source))
        found.sort(key=lambda r: abs(r.weight), reverse=True)
        return tuple(found[:limit])
