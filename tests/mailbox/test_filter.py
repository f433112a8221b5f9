"""The learning filter: learning, abstaining, per-user layers, undoing clicks,
expiry, explanations and saving/loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from postwarden.errors import InvalidInput
from postwarden.mailbox import (
    Action,
    FileModelStore,
    FilterPolicy,
    LearnedModel,
    MemoryModelStore,
    ModelParams,
    Signal,
    SpamFilter,
    load_model,
    save_model,
)
from tests.mailbox.mails import ham, newsletter, spam

SMALL = ModelParams(bits=18)


def trained(n: int = 30, params: ModelParams = SMALL) -> SpamFilter:
    spam_filter = SpamFilter(LearnedModel(params))
    for i in range(n):
        spam_filter.learn(spam(i), is_spam=True)
        spam_filter.learn(ham(i), is_spam=False)
    return spam_filter


def test_learning_moves_scores_apart() -> None:
    spam_filter = SpamFilter(LearnedModel(SMALL))
    before_spam = spam_filter.classify(spam(1000)).model_score
    before_ham = spam_filter.classify(ham(1000)).model_score
    assert before_spam == before_ham == 0.0
    for i in range(20):
        spam_filter.learn(spam(i), is_spam=True)
        spam_filter.learn(ham(i), is_spam=False)
    # unseen messages of each family now land on their side, and in the right place
    assert spam_filter.classify(spam(1000)).model_score > 2.0
    assert spam_filter.classify(ham(1000)).model_score < -2.0
    assert spam_filter.classify(spam(1000)).action is Action.SPAM
    assert spam_filter.classify(ham(1000)).action is Action.INBOX


def test_abstains_until_enough_of_both_kinds() -> None:
    params = ModelParams(bits=18, min_spam=3, min_ham=3)
    spam_filter = SpamFilter(LearnedModel(params))
    for i in range(10):
        spam_filter.learn(spam(i), is_spam=True)
    for i in range(2):
        spam_filter.learn(ham(i), is_spam=False)
    verdict = spam_filter.classify(spam(500))
    assert verdict.abstained and verdict.score == 0.0 and verdict.action is Action.INBOX
    assert verdict.model_score > 0  # it has an opinion, it just does not act on it
    # while abstaining, signals (rules, authentication) alone decide
    blocked = spam_filter.classify(spam(500), signals=[Signal("user-blocklist", 5.0, "sender blocked")])
    assert blocked.action is Action.SPAM and blocked.score == 5.0
    spam_filter.learn(ham(2), is_spam=False)
    ready = spam_filter.classify(spam(500))
    assert not ready.abstained and ready.score == ready.model_score > 0


def test_not_spam_after_spam_moves_back() -> None:
    spam_filter = trained()
    message = newsletter(1)
    start = spam_filter.classify(message).model_score
    assert spam_filter.mark_spam(message)
    after_spam = spam_filter.classify(message).model_score
    assert after_spam > start
    assert spam_filter.mark_not_spam(message)
    after_undo = spam_filter.classify(message).model_score
    # the spam click is taken back and the not-spam click learned on top
    assert after_undo < start
    assert spam_filter.model.spam_learned == 30 and spam_filter.model.ham_learned == 31


def test_reversed_click_restores_the_weights_it_changed() -> None:
    spam_filter = trained()
    weights = spam_filter.model.weights.copy()
    message = newsletter(2)
    spam_filter.mark_spam(message)
    # undo by hand through the journal: the opposite click first takes the step back
    model = spam_filter.model
    prepared = spam_filter.prepare(message)
    previous = model.journal[prepared.encoded.fingerprint]
    model._apply(prepared.encoded, previous.gradient, undo=True)
    assert np.allclose(model.weights, weights, atol=1e-6)


def test_repeated_click_is_a_no_op() -> None:
    spam_filter = trained()
    message = spam(77)
    spam_filter.mark_spam(message)
    weights = spam_filter.model.weights.copy()
    assert spam_filter.mark_spam(message) is False
    assert (spam_filter.model.weights == weights).all()
    assert spam_filter.model.spam_learned == 31


def test_one_users_taste_does_not_poison_everyone() -> None:
    spam_filter = SpamFilter(LearnedModel(SMALL))
    # everyone (several users) reads the newsletter happily and dislikes the spam
    for i in range(30):
        user = f"user{i % 3}@example.org"
        spam_filter.learn(spam(i), is_spam=True, user=user)
        spam_filter.learn(ham(i), is_spam=False, user=user)
        spam_filter.learn(newsletter(i), is_spam=False, user=user)
    # Mallory marks every newsletter as spam
    for i in range(100, 130):
        spam_filter.learn(newsletter(i), is_spam=True, user="mallory@example.org")
    fresh = newsletter(999)
    for_mallory = spam_filter.classify(fresh, user="mallory@example.org")
    for_others = spam_filter.classify(fresh, user="user1@example.org")
    for_newcomer = spam_filter.classify(fresh, user="new@example.org")
    assert for_mallory.action is Action.SPAM
    assert for_others.action is Action.INBOX and for_others.model_score < 0
    # a newcomer has only the global weights, which Mallory moved a little, not far
    assert for_newcomer.action is Action.INBOX and for_newcomer.model_score < 0
    # and ordinary spam is still spam for everyone
    assert spam_filter.classify(spam(999), user="user1@example.org").action is Action.SPAM
    # once Mallory's own layer agrees with her, more of her clicks move nothing at all:
    # one user's pull on everyone's model is bounded
    weights = spam_filter.model.weights.copy()
    for i in range(200, 260):
        spam_filter.learn(newsletter(i), is_spam=True, user="mallory@example.org")
    assert (spam_filter.model.weights == weights).all()


def test_user_layer_shows_in_the_explanation() -> None:
    spam_filter = trained()
    for i in range(10):
        spam_filter.learn(newsletter(i), is_spam=True, user="carol@example.org")
    verdict = spam_filter.classify(newsletter(50), user="carol@example.org", explain=40)
    assert {r.source for r in verdict.reasons} == {"global", "user"}
    text = verdict.explain()
    assert text.startswith(verdict.action.value) and "towards" in text


def test_explanation_names_the_heaviest_features() -> None:
    spam_filter = trained()
    verdict = spam_filter.classify(spam(4321), explain=8)
    assert verdict.action is Action.SPAM and len(verdict.reasons) == 8
    weights = [abs(r.weight) for r in verdict.reasons]
    assert weights == sorted(weights, reverse=True)
    features = " ".join(r.feature for r in verdict.reasons)
    assert "body text (" in features  # the byte grams, summed
    named = ("body:", "subj:", "url", "from", "hdr:", "part:")
    assert any(r.feature.startswith(named) for r in verdict.reasons)


def test_reject_only_when_the_policy_says_so() -> None:
    spam_filter = trained()
    assert spam_filter.classify(spam(1)).action is Action.SPAM
    strict = SpamFilter(spam_filter.model, FilterPolicy(spam_at=2.0, reject_at=3.0))
    assert strict.classify(spam(1)).action is Action.REJECT
    with pytest.raises(InvalidInput):
        FilterPolicy(spam_at=2.0, reject_at=1.0)


def test_saved_model_scores_identically(tmp_path: Path) -> None:
    spam_filter = trained()
    spam_filter.learn(newsletter(3), is_spam=True, user="dave@example.org")
    messages = [spam(300), ham(300), newsletter(300), b"\x00junk"]
    for store in (MemoryModelStore(), FileModelStore(tmp_path / "models")):
        save_model(store, spam_filter.model, "tenant-1")
        again = SpamFilter(load_model(store, "tenant-1"))
        for raw in messages:
            for user in (None, "dave@example.org"):
                expected = spam_filter.classify(raw, user=user).model_score
                assert again.classify(raw, user=user).model_score == expected
        assert again.model.journal == spam_filter.model.journal
        assert again.model.params == spam_filter.model.params
        # the journal survives too: a reversed click after reloading still undoes
        assert again.mark_not_spam(newsletter(3), user="dave@example.org")
        assert again.model.spam_learned == spam_filter.model.spam_learned - 1
    assert load_model(MemoryModelStore(), "missing").trainings == 0


def test_loading_garbage_is_refused(tmp_path: Path) -> None:
    good = trained(3).model.to_bytes()
    for bad in (b"", b"not a model", good[:40], good[:-5], good + b"x"):
        with pytest.raises(InvalidInput):
            LearnedModel.from_bytes(bad)
    with pytest.raises(InvalidInput):
        FileModelStore(tmp_path).save("../escape", good)


def test_unseen_features_expire() -> None:
    params = ModelParams(bits=16, expire_after=4096)
    spam_filter = SpamFilter(LearnedModel(params))
    model = spam_filter.model
    spam_filter.learn(newsletter(1), is_spam=True)
    old = spam_filter.prepare(newsletter(1)).encoded.global_slots
    assert model.weights[old].all()
    model.trainings += 4096 + 2048  # time passes: many trainings on other mail
    spam_filter.learn(spam(0), is_spam=True)
    recent = spam_filter.prepare(spam(0)).encoded.global_slots
    assert model.expire() > 0
    assert not model.weights[np.setdiff1d(old, recent)].any()
    assert model.weights[recent].all()
    assert model.expire() == 0


def test_model_size_does_not_grow_with_users() -> None:
    spam_filter = SpamFilter(LearnedModel(ModelParams(bits=16)))
    for i in range(200):
        spam_filter.learn(spam(i), is_spam=True, user=f"user{i}@example.org")
    model = spam_filter.model
    assert model.weights.nbytes + model.squares.nbytes + model.seen.nbytes == (1 << 16) * 10
    assert len(model.journal) == 200


def test_a_user_who_never_clicked_gets_the_global_opinion() -> None:
    spam_filter = trained()
    for message in (spam(300), ham(300), newsletter(300)):
        alone = spam_filter.classify(message).model_score
        # equal up to the odd hash collision of a user slot with a trained one
        assert spam_filter.classify(message, user="newcomer@example.org").model_score == pytest.approx(
            alone, abs=0.05)
