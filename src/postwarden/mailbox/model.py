"""The learned part of the filter: online logistic regression over hashed features.

One table of ``2**bits`` slots holds both the global model and every user's own
layer: a user's copy of a feature is the feature's hash mixed with the user's key
(feature hashing for multi-task learning), so the model never grows with the number of
users. A message's score for a user is the sum of the global weights of its features
plus that user's weights of the same features, divided by the square root of the
number of weights that carry anything (the global ones, and the user's trained ones),
so long and short messages move the score alike, and a user who never clicked gets
exactly the global opinion. The score is in spam log-odds; its logistic function is the
spam probability.

Training happens on every click, at once: one gradient step of logistic loss, taken
only when the message is misclassified or inside the margin (a click the model already
agrees with firmly changes nothing); a not-spam lesson weighs ``ham_weight`` times a
spam lesson (cost-sensitive: losing good mail is worse). Each slot has its own step size, shrinking with
the squared gradients it has taken (AdaGrad): a feature seen for the first time moves
quickly, a well-known one moves slowly. A click trains the global weights and the
user's layer together, and stops once the user's own score is past the margin, so a
user's taste that everyone else contradicts ends up mostly in their layer (whose
features are fresh, hence fast), and one user's pull on the global weights is bounded.

A journal of recent clicks, keyed by a fingerprint of user and message, makes a
repeated click a no-op and lets an opposite click take the earlier step back before
learning the new label. Features that no trained message has carried for
``expire_after`` trainings are reset, so stale and rare features fade.

Memory is fixed by ``bits``: 10 bytes per slot (float32 weight, float32 squared
gradient sum, uint16 last-seen epoch), 40 MiB at the default 22 bits, plus at most
``journal_size`` journal entries of 33 bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from postwarden.errors import InvalidInput
from postwarden.mailbox.features import U64, mix

I64 = npt.NDArray[np.int64]

_EPOCH = 1024
"""Trainings per epoch; the last-seen stamps count epochs."""


@dataclass(frozen=True)
class ModelParams:
    """The learner's few settings. The defaults are what the benchmark measures."""

    bits: int = 22
    """log2 of the number of slots."""
    rate: float = 0.3
    """Step size of the global weights (before the per-slot AdaGrad scaling)."""
    user_rate: float = 0.3
    """Step size of a user's own layer."""
    margin: float = 3.5
    """Train while ``label × score`` is below this many log-odds."""
    ham_weight: float = 1.25
    """A not-spam lesson's step relative to a spam lesson's: a good message lost costs
    more than a spam seen, so learning what is safe weighs a little more."""
    min_spam: int = 2
    min_ham: int = 2
    """The model abstains until it has learned this many spam and not-spam clicks."""
    expire_after: int = 256 * _EPOCH
    """Trainings after which a feature nobody has seen since is reset."""
    journal_size: int = 50_000
    """Recent clicks remembered, so that a reversed click can be undone."""

    def __post_init__(self) -> None:
        if not 10 <= self.bits <= 28:
            raise InvalidInput("bits must be between 10 and 28")
        if self.rate <= 0 or self.user_rate < 0 or self.margin < 0 or self.ham_weight <= 0:
            raise InvalidInput("rates must be positive and the margin non-negative")
        if self.min_spam < 0 or self.min_ham < 0 or self.journal_size < 0 or self.expire_after < 1:
            raise InvalidInput("counts must not be negative")


class Step(NamedTuple):
    """A journal entry: the label learned and the loss gradient it was learned with
    (zero when the model already agreed), so the step can be taken back."""

    is_spam: bool
    gradient: float


@dataclass(frozen=True)
class Encoded:
    """A message's features as slots, for one user (sorted, without repeats)."""

    global_slots: I64
    user_slots: I64
    fingerprint: bytes



def user_key(user: str) -> np.uint64:
    digest = hashlib.blake2b(user.encode("utf-8", errors="replace"), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little") | 1)


def fingerprint(raw: bytes, user: str | None) -> bytes:
    """16 bytes naming one user's copy of one message (for the click journal). Line
    endings do not count: a mail store may keep CRLF mail with LF (Maildir does)."""
    h = hashlib.blake2b(digest_size=16)
    h.update((user or "").encode("utf-8", errors="replace") + b"\0")
    h.update(raw.replace(b"\r\n", b"\n") if b"\r" in raw else raw)
    return h.digest()


def _distinct(slots: I64) -> I64:
    """Sorted slots without repeats (sorting beats ``np.unique``'s hashing here)."""
    if len(slots) < 2:
        return slots
    ordered = np.sort(slots)
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


class LearnedModel:
    def __init__(self, params: ModelParams | None = None) -> None:
        self.params = params or ModelParams()
        size = 1 << self.params.bits
        self.weights = np.zeros(size, dtype=np.float32)
        self.squares = np.zeros(size, dtype=np.float32)
        self.seen = np.zeros(size, dtype=np.uint16)
        self.spam_learned = 0
        self.ham_learned = 0
        self.trainings = 0
        self.journal: OrderedDict[bytes, Step] = OrderedDict()
        self._shift = np.uint64(64 - self.params.bits)

    # --- encoding ----------------------------------------------------------------

    def slots(self, hashes: U64, user: str | None = None) -> I64:
        """The slot of each feature hash: global, or in ``user``'s own layer."""
        if user is not None:
            hashes = mix(hashes ^ user_key(user))
        return (hashes >> self._shift).astype(np.int64)

    def encode(self, hashes: U64, user: str | None, fingerprint: bytes) -> Encoded:
        global_slots = _distinct(self.slots(hashes))
        if user is None or self.params.user_rate == 0:
            user_slots = np.empty(0, dtype=np.int64)
        else:
            user_slots = _distinct(self.slots(hashes, user))
        return Encoded(global_slots, user_slots, fingerprint)

    # --- scoring -----------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether enough has been learned to give an opinion."""
        return self.spam_learned >= self.params.min_spam and self.ham_learned >= self.params.min_ham

    def scale(self, msg: Encoded) -> float:
        """Every score is divided by the square root of the number of slots that carry
        weight for it: the message's global slots, and those of the user's slots the user
        has trained. A user who never clicked scores exactly as with no user at all."""
        active = len(msg.global_slots)
        if len(msg.user_slots):
            active += int(np.count_nonzero(self.squares[msg.user_slots]))
        return 1.0 / math.sqrt(max(active, 1))

    def score(self, msg: Encoded) -> float:
        """Spam log-odds of the message (positive: spam)."""
        total = float(self.weights[msg.global_slots].sum(dtype=np.float64))
        if len(msg.user_slots):
            total += float(self.weights[msg.user_slots].sum(dtype=np.float64))
        return total * self.scale(msg)

    # --- learning ----------------------------------------------------------------

    def learn(self, msg: Encoded, is_spam: bool) -> bool:
        """Take the user's click. Returns whether the weights changed."""
        previous = self.journal.get(msg.fingerprint)
        undone = False
        if previous is not None:
            if previous.is_spam == is_spam:
                self.journal.move_to_end(msg.fingerprint)
                return False
            if previous.gradient:
                self._apply(msg, previous.gradient, undo=True)
                undone = True
            self._count(previous.is_spam, -1)
            del self.journal[msg.fingerprint]
        self._count(is_spam, +1)
        self._touch(msg)
        scale = self.scale(msg)
        s = self.score(msg)
        y = 1.0 if is_spam else -1.0
        gradient = 0.0
        if y * s < self.params.margin:
            if is_spam:
                gradient = (1.0 - _sigmoid(s)) * scale
            else:
                gradient = -_sigmoid(s) * scale * self.params.ham_weight
            self._apply(msg, gradient, undo=False)
        self.journal[msg.fingerprint] = Step(is_spam, gradient)
        while len(self.journal) > self.params.journal_size:
            self.journal.popitem(last=False)
        return undone or gradient != 0.0

    def _apply(self, msg: Encoded, gradient: float, *, undo: bool) -> None:
        g = np.float32(gradient)
        g2 = np.float32(gradient * gradient)
        for slots, rate in ((msg.global_slots, self.params.rate), (msg.user_slots, self.params.user_rate)):
            if not len(slots):
                continue
            squares = self.squares[slots]
            if undo:
                # take back the step with the step size it had, then forget its gradient
                self.weights[slots] -= np.float32(rate) * g / np.sqrt(squares)
                self.squares[slots] = np.maximum(squares - g2, np.float32(0))
            else:
                squares += g2
                self.squares[slots] = squares
                self.weights[slots] += np.float32(rate) * g / np.sqrt(squares)

    def _count(self, is_spam: bool, delta: int) -> None:
        if is_spam:
            self.spam_learned += delta
        else:
            self.ham_learned += delta

    def _touch(self, msg: Encoded) -> None:
        self.trainings += 1
        epoch = np.uint16((self.trainings // _EPOCH) & 0xFFFF)
        self.seen[msg.global_slots] = epoch
        if len(msg.user_slots):
            self.seen[msg.user_slots] = epoch
        if self.trainings % _EPOCH == 0:
            self.expire()

    def expire(self) -> int:
        """Reset slots unseen for ``expire_after`` trainings; returns how many."""
        epoch = np.uint16((self.trainings // _EPOCH) & 0xFFFF)
        limit = max(self.params.expire_after // _EPOCH, 1)
        age = epoch - self.seen  # uint16 arithmetic wraps, as the stamps do
        stale = (age > limit) & (self.squares != 0)
        count = int(stale.sum())
        if count:
            self.weights[stale] = 0.0
            self.squares[stale] = 0.0
        return count

    # --- state -------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The whole state, compactly (only slots that were ever trained are kept)."""
        slots = np.flatnonzero(self.squares).astype(np.uint32)
        meta = {
            "format": 2,
            "params": asdict(self.params),
            "spam_learned": self.spam_learned,
            "ham_learned": self.ham_learned,
            "trainings": self.trainings,
            "slots": len(slots),
            "journal": len(self.journal),
        }
        journal = b"".join(fp + _JOURNAL.pack(s.is_spam, s.gradient) for fp, s in self.journal.items())
        body = b"".join(
            [
                # gaps between sorted slots, not the slots: small numbers compress well
                np.diff(slots, prepend=np.uint32(0)).astype("<u4").tobytes(),
                self.weights[slots].astype("<f4").tobytes(),
                self.squares[slots].astype("<f4").tobytes(),
                self.seen[slots].astype("<u2").tobytes(),
                journal,
            ]
        )
        head = json.dumps(meta, sort_keys=True).encode()
        # level 1: the service saves at every click; higher levels cost 5x the time for 3%
        return _MAGIC + struct.pack("<I", len(head)) + head + zlib.compress(body, 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> LearnedModel:
        """The inverse of :meth:`to_bytes`; refuses anything else with ``InvalidInput``."""
        try:
            if not data.startswith(_MAGIC):
                raise ValueError("not a postwarden filter model")
            (head_len,) = struct.unpack_from("<I", data, len(_MAGIC))
            start = len(_MAGIC) + 4
            meta = json.loads(data[start : start + head_len])
            if meta.get("format") not in (1, 2):
                raise ValueError(f"unknown model format {meta.get('format')!r}")
            params = replace(ModelParams(), **meta["params"])
            inflate = zlib.decompressobj()
            body = inflate.decompress(data[start + head_len :])
            if not inflate.eof or inflate.unused_data:
                raise ValueError("truncated or trailing data")
            model = cls(params)
            n = int(meta["slots"])
            slots = np.frombuffer(body, dtype="<u4", count=n, offset=0).astype(np.int64)
            if meta["format"] == 2:  # format 1 stored the slots themselves
                slots = np.cumsum(slots)
            if n and int(slots.max()) >= len(model.weights):
                raise ValueError("slot out of range")
            model.weights[slots] = np.frombuffer(body, dtype="<f4", count=n, offset=4 * n)
            model.squares[slots] = np.frombuffer(body, dtype="<f4", count=n, offset=8 * n)
            model.seen[slots] = np.frombuffer(body, dtype="<u2", count=n, offset=12 * n)
            pos = 14 * n
            for _ in range(int(meta["journal"])):
                is_spam, gradient = _JOURNAL.unpack_from(body, pos + 16)
                model.journal[body[pos : pos + 16]] = Step(bool(is_spam), float(gradient))
                pos += 16 + _JOURNAL.size
            if pos != len(body):
                raise ValueError("trailing or missing data")
            model.spam_learned = int(meta["spam_learned"])
            model.ham_learned = int(meta["ham_learned"])
            model.trainings = int(meta["trainings"])
            return model
        except (ValueError, KeyError, TypeError, struct.error, zlib.error) as exc:
            raise InvalidInput(f"cannot load filter model: {exc}") from exc


_MAGIC = b"PWFILTER"
_JOURNAL = struct.Struct("<?d")
