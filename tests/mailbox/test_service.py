"""The mailbox service on the database (SQLite and PostgreSQL): the model's state
persisting and shared between processes, sender rules, consent, the trusted sender's
unsubscribe, and verdicts with their explanation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from postwarden import settings as settings_mod
from postwarden.errors import InvalidInput
from postwarden.ledger import Ledger
from postwarden.ledger.secrets import token_key
from postwarden.mailbox import Action
from postwarden.mailbox.auth import Envelope
from postwarden.mailbox.headers import strip_verdict
from postwarden.mailbox.service import CONSENT_QUESTION, Mailbox
from postwarden.tokens import unsubscribe_headers
from tests.dnsserver import dns_server
from tests.mailbox.mails import ham, message, newsletter, spam
from tests.servers import serve_in_thread

ALICE = "alice@example.org"
BOB = "bob@example.org"


@pytest.fixture(scope="module")
def dns() -> Iterator[str]:
    records = [("_dmarc.bank.example", "TXT", '"v=DMARC1; p=reject"')]
    with dns_server(records) as (_, server):
        yield server


def make(engine: Engine, tenant: str, dns: str, **extra: object) -> Mailbox:
    settings = settings_mod.load(env={}, dns_servers=[dns], dns_timeout=1.0, mailbox_model_bits=18,
                                 mailbox_reload_seconds=0.0, **extra)
    return Mailbox(engine, tenant, settings)


def train(box: Mailbox, n: int = 12, user: str = ALICE) -> None:
    for i in range(n):
        box.report_spam(spam(i), user)
        box.report_not_spam(ham(i), user)


def test_model_state_survives_a_restart_and_is_shared(engine: Engine, tenant: str, dns: str) -> None:
    first = make(engine, tenant, dns)
    assert first.classify(spam(500), ALICE).verdict.abstained
    train(first)
    before = first.classify(spam(500), ALICE).verdict
    assert not before.abstained and before.action is Action.SPAM
    revision = first.db.revision("global")
    assert revision == 24  # every click was saved
    # a new process (a restart) starts from the database and scores the same
    second = make(engine, tenant, dns)
    assert second.classify(spam(500), ALICE).verdict.score == pytest.approx(before.score, abs=1e-6)
    # a click in one process is seen by the other before its next verdict and click
    for i in range(3):
        second.report_spam(newsletter(i), ALICE)
    moved = first.classify(newsletter(1), ALICE).verdict.model_score
    assert moved == pytest.approx(second.classify(newsletter(1), ALICE).verdict.model_score, abs=1e-6)
    first.report_spam(newsletter(7), ALICE)
    assert first.spam_filter().model.spam_learned == second.spam_filter(fresh=True).model.spam_learned == 16
    state = first.db.load_state("global")
    assert state is not None and len(state.state) < 2_000_000


def test_not_spam_click_on_the_delivered_copy_undoes_the_spam_click(engine: Engine, tenant: str,
                                                                     dns: str) -> None:
    box = make(engine, tenant, dns)
    train(box)
    envelope = Envelope("192.0.2.1", "mx.news.example", "editor@news.example.com")
    delivered = box.receive(newsletter(3), envelope, ALICE)
    assert delivered.message.startswith(b"X-Spam-Verdict: ")
    assert b"Authentication-Results: postwarden.localhost;" in delivered.message
    assert strip_verdict(delivered.message) == delivered.classification.canonical
    start = box.classify(delivered.message, ALICE).verdict.model_score
    assert box.report_spam(delivered.message, ALICE).learned
    assert box.classify(delivered.message, ALICE).verdict.model_score > start
    assert not box.report_spam(delivered.message, ALICE).learned  # the same click again: nothing
    assert box.report_not_spam(delivered.message, ALICE).learned
    assert box.classify(delivered.message, ALICE).verdict.model_score < start


def test_block_and_trust_rules_decide_and_explain(engine: Engine, tenant: str, dns: str) -> None:
    box = make(engine, tenant, dns)
    train(box)
    box.add_rule(ALICE, "block", "domain", "lists.example.org")
    found = box.classify(ham(900), ALICE)
    assert found.verdict.action is Action.SPAM
    assert "USER_BLOCKED" in found.verdict.explain() and "domain lists.example.org" in found.verdict.explain()
    assert box.classify(ham(900), BOB).verdict.action is Action.INBOX  # Alice's rule, Alice's mail
    box.add_rule(ALICE, "block", "domain", "lists.example.org", "reject")
    assert box.classify(ham(900), ALICE).verdict.action is Action.REJECT
    # a more specific trust beats the domain block
    box.add_rule(ALICE, "trust", "address", ham(900).split(b"From: ")[1].split(b"\n")[0].decode())
    assert box.classify(ham(900), ALICE).verdict.action is Action.INBOX
    # an IP block needs the SMTP client: the inbound path has it
    box.add_rule(BOB, "block", "ip", "203.0.113.0/24")
    arrived = box.receive(ham(901), Envelope("203.0.113.77", "x", "dev1@lists.example.org"), BOB)
    assert arrived.verdict.action is Action.SPAM and arrived.folder == "spam"
    assert b"X-Spam-Folder: spam" in arrived.message
    assert box.remove_rule(BOB, "block", "ip", "203.0.113.0/24")
    assert [r.kind for r in box.rules(ALICE)] == ["block", "trust"]
    with pytest.raises(InvalidInput):
        box.add_rule(ALICE, "trust", "ip", "192.0.2.1")
    with pytest.raises(InvalidInput):
        box.add_rule(ALICE, "block", "address", "not an address")


def test_correspondents_reach_the_inbox_unless_their_domain_is_forged(engine: Engine, tenant: str,
                                                                     dns: str) -> None:
    box = make(engine, tenant, dns)
    train(box)
    offer = spam(901)
    assert box.classify(offer, ALICE).verdict.action is Action.SPAM
    sender = offer.split(b"From: ")[1].split(b"\n")[0].decode()
    assert box.wrote_to(ALICE, [sender]) == 1
    found = box.classify(offer, ALICE)
    assert found.verdict.action is Action.INBOX and found.rule.rule is not None
    assert "USER_CORRESPONDENT" in found.verdict.explain()
    # bank.example asks for DMARC failures to be refused: a forged From gets no trust
    forged = message(sender="alerts@bank.example", subject="verify your account", body="click here now")
    box.wrote_to(ALICE, ["alerts@bank.example"])
    found = box.receive(forged, Envelope("203.0.113.9", "evil.example", "x@evil.example"), ALICE)
    assert found.classification.auth.result_of("dmarc") == "fail"
    assert found.classification.rule.rule is None
    assert "DMARC_FAIL_REJECT" in found.verdict.explain()


def test_consent_is_asked_at_every_spam_click_until_given(engine: Engine, tenant: str, dns: str) -> None:
    box = make(engine, tenant, dns)
    first = box.report_spam(spam(1), ALICE)
    assert first.learned and first.consent is None and first.consent_question == CONSENT_QUESTION
    assert first.reports == []
    declined = box.report_spam(spam(2), ALICE, share=False)
    assert declined.consent == "declined" and declined.consent_question == CONSENT_QUESTION
    asked_again = box.report_spam(spam(3), ALICE)
    assert asked_again.consent == "declined" and asked_again.consent_question == CONSENT_QUESTION
    given = box.report_spam(spam(4), ALICE, share=True)
    assert given.consent == "accepted" and given.consent_question is None
    # no feedback address registered and no upstream: the report is logged as skipped
    assert given.reports[0]["outcome"] == "skipped"
    later = box.report_spam(spam(5), ALICE, share=False)  # once given, never asked again
    assert later.consent == "accepted" and later.consent_question is None
    assert box.db.consent(BOB) is None


def test_spam_click_on_trusted_mailing_offers_and_performs_one_click_unsubscribe(
        engine: Engine, tenant: str, dns: str, db_url: str) -> None:
    server = serve_in_thread(engine)
    settings = settings_mod.load(env={}, public_url=server.url)
    ledger = Ledger(engine, tenant, settings)
    links = unsubscribe_headers(token_key(engine, settings), ledger.tenant_id, ALICE, "weekly",
                        public_url=server.url, intake_domain="bounce.localhost")
    mail = newsletter(1, to=ALICE).replace(
        b"Precedence: bulk\n",
        f"Precedence: bulk\nList-Unsubscribe: <mailto:{links.mailto}>, <{links.url}>\n"
        f"List-Unsubscribe-Post: List-Unsubscribe=One-Click\n".encode())
    box = make(engine, tenant, dns, mailbox_allow_http_unsubscribe=True)
    train(box)
    box.add_rule(ALICE, "trust", "domain", "news.example.com")
    hint = box.report_spam(mail, ALICE)
    assert hint.trusted_sender and not hint.learned
    assert hint.unsubscribe is not None and hint.unsubscribe["one_click"] is True
    assert "unsubscrib" in hint.unsubscribe["hint"] and "result" not in hint.unsubscribe
    assert ledger.check([ALICE], "weekly")[0].verdict == "allowed"
    done = box.report_spam(mail, ALICE, unsubscribe=True)
    assert done.unsubscribe is not None and done.unsubscribe["result"]["done"] is True
    # the sender's side (postwarden's own one-click endpoint) recorded the unsubscribe
    assert ledger.check([ALICE], "weekly")[0].verdict == "suppressed"
    # without a trust rule the same click is an ordinary lesson
    assert box.report_spam(mail, BOB).learned


def test_results_claiming_our_name_are_believed_only_at_the_top(engine: Engine, tenant: str,
                                                                 dns: str) -> None:
    box = make(engine, tenant, dns)
    forged = (b"Received: from mx.elsewhere.example by mx.example.org\r\n"
              b"Authentication-Results: postwarden.localhost; dmarc=pass header.from=bank.example\r\n"
              + message(sender="alerts@bank.example", subject="verify", body="click"))
    found = box.classify(forged, ALICE)
    # checked afresh: bank.example publishes p=reject and nothing here passes
    assert found.auth.source == "checked" and found.auth.result_of("dmarc") == "fail"
    assert found.canonical.count(b"postwarden.localhost") == 1
    assert found.canonical.startswith(b"Authentication-Results: postwarden.localhost;")
    # the copy we deliver starts with our results, and they are reused as they are
    again = box.classify(found.canonical, ALICE)
    assert again.auth.source == "upstream:postwarden.localhost" and again.canonical == found.canonical
