"""A user's own rules about senders, and what they do to a verdict.

* ``block`` an address, a domain (and its subdomains) or an IP address or network:
  the message goes to the spam folder, or is refused when the rule says ``reject``;
* ``trust`` an address or domain, and ``correspondent`` (someone the user wrote to):
  the message goes to the inbox whatever the learned score.

The most specific match wins (address, then domain, then IP); at the same level a
block beats a trust. Trust asks for a sender that proves its name: a message whose
From domain fails DMARC is not let through on a trusted address, since anyone can
write any From line.

Pure: rules and the sender's facts in, signals and an action out."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from postwarden.errors import InvalidInput
from postwarden.mailbox.verdict import Action, Signal

KINDS = ("block", "trust", "correspondent")
MATCHES = ("address", "domain", "ip")


@dataclass(frozen=True)
class SenderRule:
    kind: str
    match: str
    value: str
    action: Action

    @classmethod
    def make(cls, kind: str, match: str, value: str, action: str | None = None) -> SenderRule:
        """A checked rule: the value normalised, the action defaulted from the kind."""
        if kind not in KINDS:
            raise InvalidInput(f"rule kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if match not in MATCHES:
            raise InvalidInput(f"a rule matches one of {', '.join(MATCHES)}, not {match!r}")
        if kind != "block" and match == "ip":
            raise InvalidInput("only block rules can match an IP address")
        value = normalise(match, value)
        default = Action.SPAM if kind == "block" else Action.INBOX
        chosen = Action(action) if action else default
        allowed = (Action.SPAM, Action.REJECT) if kind == "block" else (Action.INBOX,)
        if chosen not in allowed:
            raise InvalidInput(f"a {kind} rule sends mail to {' or '.join(a.value for a in allowed)}")
        return cls(kind, match, value, chosen)


def normalise(match: str, value: str) -> str:
    value = value.strip().strip("<>").lower().rstrip(".")
    if match == "address":
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or " " in value:
            raise InvalidInput(f"{value!r} is not an e-mail address")
    elif match == "domain":
        value = value.lstrip("@")
        if not value or "@" in value or " " in value or "." not in value:
            raise InvalidInput(f"{value!r} is not a domain")
    else:
        try:
            value = str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise InvalidInput(f"{value!r} is not an IP address or network") from None
    return value


@dataclass(frozen=True)
class Sender:
    """What the rules look at: the From address, the envelope sender, the client IP."""

    address: str | None
    envelope: str | None = None
    ip: str | None = None
    authenticated_from: bool = True
    """False when the From domain fails DMARC: trust rules then do not apply."""

    def addresses(self) -> list[str]:
        return [a for a in (self.address, self.envelope) if a]


@dataclass(frozen=True)
class RuleScore:
    symbol: str
    score: float
    description: str


# Scores as data, separate from matching. They are large: a user's own rule is meant
# to decide, and the explanation shows it did.
RULE_SCORES = {
    "block": RuleScore("USER_BLOCKED", 20.0, "you blocked this sender"),
    "trust": RuleScore("USER_TRUSTED", -20.0, "a sender you trust"),
    "correspondent": RuleScore("USER_CORRESPONDENT", -20.0, "someone you have written to"),
}
_SPECIFICITY = {"address": 3, "domain": 2, "ip": 1}


def _matches(rule: SenderRule, sender: Sender) -> bool:
    if rule.match == "address":
        return rule.value in sender.addresses()
    if rule.match == "domain":
        return any(a.rpartition("@")[2] == rule.value or a.rpartition("@")[2].endswith("." + rule.value)
                   for a in sender.addresses())
    if not sender.ip:
        return False
    try:
        return ipaddress.ip_address(sender.ip) in ipaddress.ip_network(rule.value)
    except ValueError:
        return False


@dataclass(frozen=True)
class RuleDecision:
    rule: SenderRule | None
    signals: tuple[Signal, ...]

    @property
    def action(self) -> Action | None:
        return self.rule.action if self.rule else None

    @property
    def trusted(self) -> bool:
        return self.rule is not None and self.rule.kind != "block"


def decide(rules: list[SenderRule], sender: Sender) -> RuleDecision:
    """The rule that applies to ``sender``, if any, with its signal."""
    found = [r for r in rules if _matches(r, sender)
             and (r.kind == "block" or sender.authenticated_from)]
    if not found:
        return RuleDecision(None, ())
    best = max(found, key=lambda r: (_SPECIFICITY[r.match], r.kind == "block"))
    score = RULE_SCORES[best.kind]
    text = f"{score.description} ({best.match} {best.value})"
    if best.kind == "block" and best.action is Action.REJECT:
        text += "; you asked for such mail to be refused"
    return RuleDecision(best, (Signal(score.symbol, score.score, text),))
