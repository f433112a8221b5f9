"""What the filter decides about a message, and the policy that turns a score into a
decision. Scores are spam log-odds: 0 is neutral, positive leans spam."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from postwarden.errors import InvalidInput


class Action(StrEnum):
    INBOX = "inbox"
    SPAM = "spam"
    """Deliver to the user's spam folder."""
    REJECT = "reject"
    """Refuse at SMTP time (only when the policy sets ``reject_at``)."""


@dataclass(frozen=True)
class Signal:
    """A score from something other than the learned model: an authentication check,
    a user's allow/block rule, a reputation list. Added to the learned score; while the
    model abstains, signals alone decide."""

    name: str
    score: float
    description: str = ""


@dataclass(frozen=True)
class Reason:
    """One thing that moved the score, for "why is this in spam?"."""

    feature: str
    weight: float
    """Its share of the score in log-odds (positive: towards spam)."""
    source: str
    """``global`` (everyone's clicks), ``user`` (this user's clicks) or ``signal``."""
    description: str = ""
    """What a signal means, in words."""


@dataclass(frozen=True)
class FilterPolicy:
    """Thresholds on the total score, as data. Spam goes to the spam folder; rejecting
    at SMTP time is off unless ``reject_at`` is set."""

    spam_at: float = 2.5
    """Log-odds at or above which mail goes to the spam folder (2.5 is p = 0.92): a
    little shy of calling spam, since a lost good message costs more than a spam seen."""
    reject_at: float | None = None
    """Log-odds at or above which mail is refused; ``None`` never refuses."""

    def __post_init__(self) -> None:
        if self.reject_at is not None and self.reject_at < self.spam_at:
            raise InvalidInput("reject_at must not be below spam_at")

    def decide(self, score: float) -> Action:
        if self.reject_at is not None and score >= self.reject_at:
            return Action.REJECT
        if score >= self.spam_at:
            return Action.SPAM
        return Action.INBOX


@dataclass(frozen=True)
class Verdict:
    action: Action
    score: float
    """Total spam log-odds: the learned score (0 while abstaining) plus signals."""
    model_score: float
    """The learned model's own opinion, even while it abstains (for diagnostics)."""
    abstained: bool
    reasons: tuple[Reason, ...] = ()

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-max(min(self.score, 50.0), -50.0)))

    def explain(self) -> str:
        """A few lines a person can read."""
        lines = [f"{self.action.value}: score {self.score:+.2f} (spam probability {self.probability:.3f})"]
        if self.abstained:
            lines.append("the learned model has not seen enough spam and not-spam yet: it abstained")
        for reason in self.reasons:
            side = "spam" if reason.weight > 0 else "not spam"
            what = f"{reason.feature}: {reason.description}" if reason.description else reason.feature
            lines.append(f"  {reason.weight:+.3f}  {what}  [{reason.source}, towards {side}]")
        return "\n".join(lines)
