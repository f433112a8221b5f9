"""Online evaluation in the TREC spam-track manner: messages in order, each one
classified and then learned with its true label, as if the user clicked at once.

The measures:

* ``one_minus_roca_pct`` — 100 × (1 − area under the ROC curve of the scores); ties
  count half. Lower is better. The score ranked is the one the filter reports: neutral
  (0) while it abstains. ``one_minus_roca_pct_model`` ranks the learned model's own
  score instead, even while abstaining: a diagnostic of the model, not of the filter.
* ``false_positive_rate_pct`` — not-spam sent to spam (or rejected) by the verdict.
* ``false_negative_rate_pct`` — spam left in the inbox by the verdict (while the model
  abstains, all of it; ``..._after_warmup_pct`` counts only after it stopped abstaining).
* ``spam_miss_at_0_1_fpr_pct`` — the share of spam missed at the strictest threshold
  that lets through at most 0.1% of not-spam (``floor(0.001 × ham)`` messages).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from postwarden.errors import InvalidInput
from postwarden.mailbox.filter import SpamFilter
from postwarden.mailbox.message import MailView, read_message
from postwarden.mailbox.verdict import Action


@dataclass(frozen=True)
class LabelledMessage:
    path: str
    is_spam: bool


@dataclass(frozen=True)
class Outcome:
    path: str
    score: float
    """The spam log-odds the filter reports (higher: more spam); neutral while abstaining."""
    action: Action
    is_spam: bool
    abstained: bool
    model_score: float
    """The learned model's own log-odds, abstaining or not."""


def read_labels(labels: Path) -> list[LabelledMessage]:
    """``path<TAB>spam|ham`` lines; blank lines and ``#`` comments are skipped."""
    out: list[LabelledMessage] = []
    problems: list[str] = []
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        path, _, label = line.rstrip("\r").partition("\t")
        label = label.strip().lower()
        if label not in ("spam", "ham") or not path:
            problems.append(f"line {number}: expected 'path<TAB>spam|ham', got {line[:80]!r}")
            continue
        out.append(LabelledMessage(path, label == "spam"))
    if problems:
        raise InvalidInput(f"{labels}: " + "; ".join(problems[:5]))
    return out


def user_of(view: MailView, header: str | None) -> str | None:
    """The per-user key: the header's value, lower-cased (``None`` when absent)."""
    if header is None:
        return None
    value = view.header(header.lower())
    return value.strip().lower() if value else None


def run_online(
    spam_filter: SpamFilter,
    messages: Iterable[tuple[LabelledMessage, bytes]],
    *,
    user_header: str | None = None,
) -> Iterator[Outcome]:
    for item, raw in messages:
        view = read_message(raw, max_text=spam_filter.max_text)
        prepared = spam_filter.prepare_view(view, raw, user_of(view, user_header))
        verdict = spam_filter.classify(prepared)
        spam_filter.learn(prepared, is_spam=item.is_spam)
        yield Outcome(item.path, verdict.score, verdict.action, item.is_spam, verdict.abstained,
                      verdict.model_score)


def one_minus_roca_pct(scores: Sequence[float], is_spam: Sequence[bool]) -> float | None:
    """100 × (1 − ROC area), ties counted half; ``None`` without both classes."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_spam, dtype=bool)
    n_spam, n_ham = int(y.sum()), int((~y).sum())
    if n_spam == 0 or n_ham == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranked = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # average 1-based rank over each run of equal scores
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    ends = np.r_[starts[1:], len(s)]
    averages = (starts + 1 + ends) / 2.0
    ranks[order] = np.repeat(averages, ends - starts)
    auc = (float(ranks[y].sum()) - n_spam * (n_spam + 1) / 2.0) / (n_spam * n_ham)
    return 100.0 * (1.0 - auc)


def spam_miss_at_fpr_pct(
    scores: Sequence[float], is_spam: Sequence[bool], fpr: float = 0.001
) -> float | None:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_spam, dtype=bool)
    ham = np.sort(s[~y])[::-1]
    spam = s[y]
    if len(ham) == 0 or len(spam) == 0:
        return None
    allowed = math.floor(fpr * len(ham))
    if allowed >= len(ham):
        return 0.0
    threshold = ham[allowed]  # the highest score that must stay below the line
    return 100.0 * float((spam <= threshold).sum()) / len(spam)


def _rate(count: int, total: int) -> float | None:
    return round(100.0 * count / total, 4) if total else None


def summarise(outcomes: Sequence[Outcome], seconds: float) -> dict[str, object]:
    scores = [o.score for o in outcomes]
    truth = [o.is_spam for o in outcomes]
    n_spam = sum(truth)
    n_ham = len(truth) - n_spam
    fp = [not o.is_spam and o.action is not Action.INBOX for o in outcomes]
    fn = [o.is_spam and o.action is Action.INBOX for o in outcomes]
    ready = [o for o in outcomes if not o.abstained]
    ready_spam = sum(1 for o in ready if o.is_spam)
    roca = one_minus_roca_pct(scores, truth)
    roca_model = one_minus_roca_pct([o.model_score for o in outcomes], truth)
    miss = spam_miss_at_fpr_pct(scores, truth)
    return {
        "messages": len(outcomes),
        "spam": n_spam,
        "ham": n_ham,
        "one_minus_roca_pct": None if roca is None else round(roca, 4),
        "one_minus_roca_pct_model": None if roca_model is None else round(roca_model, 4),
        "false_positive_rate_pct": _rate(sum(fp), n_ham),
        "false_negative_rate_pct": _rate(sum(fn), n_spam),
        "false_positives": sum(fp),
        "false_negatives": sum(fn),
        "spam_miss_at_0_1_fpr_pct": None if miss is None else round(miss, 4),
        "abstained": len(outcomes) - len(ready),
        "false_positive_rate_after_warmup_pct": _rate(
            sum(1 for o, bad in zip(outcomes, fp, strict=True) if bad and not o.abstained),
            len(ready) - ready_spam,
        ),
        "false_negative_rate_after_warmup_pct": _rate(
            sum(1 for o, bad in zip(outcomes, fn, strict=True) if bad and not o.abstained), ready_spam
        ),
        "seconds": round(seconds, 3),
        "messages_per_second": round(len(outcomes) / seconds, 1) if seconds > 0 else None,
    }


def evaluate(
    labels: Path,
    spam_filter: SpamFilter | None = None,
    *,
    user_header: str | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> dict[str, object]:
    """Run the whole online protocol over a labels file; returns the summary. Reading
    files counts against the time, as it would for a filter reading from a spool."""
    items = read_labels(labels)
    folder = labels.parent
    spam_filter = spam_filter or SpamFilter()

    def messages() -> Iterator[tuple[LabelledMessage, bytes]]:
        for item in items:
            try:
                yield item, (folder / item.path).read_bytes()
            except OSError as exc:
                raise InvalidInput(f"cannot read {item.path}: {exc}") from exc

    outcomes: list[Outcome] = []
    started = time.perf_counter()
    for outcome in run_online(spam_filter, messages(), user_header=user_header):
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return summarise(outcomes, time.perf_counter() - started)
