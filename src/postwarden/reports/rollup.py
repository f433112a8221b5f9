"""The rollup: adds new rows of the message history and the feedback log to
``daily_stats``, so that a 90-day series per provider reads a few thousand rows
instead of millions.

Each source table is read past a stored mark (its highest id consumed). On
PostgreSQL ids are handed out when a row is inserted but become visible only when
its transaction commits, so a higher id can appear before a lower one. The ids the
rollup passes over without seeing are kept as *gaps* and looked at again on every
run, until they turn up or ``report_gap_seconds`` passes (a rolled-back insert
leaves a gap that never fills). Counting is done by the database (GROUP BY per day,
tenant and recipient domain); the few thousand groups are mapped to providers here.

Safe with several processes: on PostgreSQL a transaction-level advisory lock lets one
rollup run at a time and the others skip; everywhere the mark carries a version that
is advanced with compare-and-set in the same transaction as the counts, so a range is
applied exactly once.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, cast, func, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from postwarden.ledger.models import (
    DAILY_STATS,
    EVENTS,
    MESSAGES,
    REPORT_DOMAINS,
    ROLLUP_MARKS,
)
from postwarden.ledger.service import utcnow
from postwarden.reports.providers import OTHER, provider_for_domain

log = logging.getLogger("postwarden.reports")

COUNTERS = ("sent", "delivered", "deferred", "hard_bounces", "soft_bounces", "sender_failures",
            "complaints", "unsubscribes")
# Rows read per transaction: large enough that catching up on millions takes few
# round trips, small enough that one transaction's counts stay modest.
CHUNK = 1_000_000
MAX_GAPS = 10_000
_DOMAIN_BATCH = 500  # under SQLite's bound-parameter limit
# Arbitrary, fixed: the advisory lock key of the rollup on PostgreSQL.
_LOCK_KEY = 0x706F7374_7270  # "postrp"


class _Raced(Exception):
    """Another process advanced the mark first; this transaction's counts are dropped."""


@dataclass
class _Mark:
    last_id: int
    gaps: dict[int, str]
    version: int


@dataclass
class RollupResult:
    messages: int = 0
    events: int = 0
    days: set[tuple[int, date]] = field(default_factory=set)  # (tenant, day) touched


def _day(conn: Connection, column: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return cast(column, postgresql.DATE)
    return func.date(column)


def domain_of(conn: Connection, column: Any) -> ColumnElement[Any]:
    # Constants inlined: PostgreSQL cannot tell that a GROUP BY expression with bound
    # parameters is the same as the selected one.
    at: ColumnElement[str] = literal_column("'@'")
    if conn.dialect.name == "postgresql":
        return func.split_part(column, at, literal_column("2"))
    return func.substr(column, func.instr(column, at) + literal_column("1"))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _load_mark(conn: Connection, name: str) -> _Mark:
    row = conn.execute(select(ROLLUP_MARKS).where(ROLLUP_MARKS.c.name == name)).first()
    if row is None:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(ROLLUP_MARKS).values(name=name, last_id=0, gaps="{}", version=0)
                     .on_conflict_do_nothing(index_elements=["name"]))
        return _Mark(0, {}, 0)
    return _Mark(int(row.last_id), {int(k): v for k, v in json.loads(row.gaps).items()}, int(row.version))


def _advance(conn: Connection, name: str, old: _Mark, new: _Mark) -> None:
    done = conn.execute(update(ROLLUP_MARKS).where(
        ROLLUP_MARKS.c.name == name, ROLLUP_MARKS.c.version == old.version,
    ).values(last_id=new.last_id, gaps=json.dumps({str(k): v for k, v in sorted(new.gaps.items())}),
             version=old.version + 1))
    if done.rowcount != 1:
        raise _Raced


def _plan(conn: Connection, table: Any, mark: _Mark, now: datetime, patience: timedelta,
          ) -> tuple[_Mark, list[int], int] | None:
    """The new mark, the old gaps that have now turned up, and the top of the range to
    read past ``mark.last_id``; None when there is nothing new."""
    top = conn.execute(select(func.max(table.c.id))).scalar()
    hi = min(int(top or 0), mark.last_id + CHUNK)
    filled = []
    if mark.gaps:
        filled = [int(i) for i in conn.execute(select(table.c.id).where(
            table.c.id.in_(list(mark.gaps)))).scalars()]
    if hi <= mark.last_id and not filled:
        expired = {i for i, seen in mark.gaps.items() if now - datetime.fromisoformat(seen) > patience}
        if not expired:
            return None
        return _Mark(mark.last_id, {i: s for i, s in mark.gaps.items() if i not in expired},
                     mark.version), [], mark.last_id
    gaps = {i: s for i, s in mark.gaps.items()
            if i not in filled and now - datetime.fromisoformat(s) <= patience}
    if hi > mark.last_id:
        present = conn.execute(select(func.count()).select_from(table).where(
            table.c.id > mark.last_id, table.c.id <= hi)).scalar_one()
        if present < hi - mark.last_id:
            seen = set(conn.execute(select(table.c.id).where(
                table.c.id > mark.last_id, table.c.id <= hi)).scalars())
            stamp = now.isoformat()
            gaps.update((i, stamp) for i in range(mark.last_id + 1, hi) if i not in seen)
    if len(gaps) > MAX_GAPS:
        log.warning("rollup: %d ids never appeared; forgetting the oldest", len(gaps) - MAX_GAPS)
        gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
    return _Mark(max(hi, mark.last_id), gaps, mark.version), filled, hi


def recorded_providers(conn: Connection, domains: Iterable[str]) -> dict[str, str]:
    """The provider the relay recorded for each of these recipient domains that it
    knows. Asked for by name: the table grows with every company domain ever mailed."""
    wanted = sorted(set(domains))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _DOMAIN_BATCH):
        found.update(conn.execute(select(REPORT_DOMAINS.c.domain, REPORT_DOMAINS.c.provider).where(
            REPORT_DOMAINS.c.domain.in_(wanted[start:start + _DOMAIN_BATCH]))).tuples().all())
    return found


class _Counts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.domains: dict[str, str] = {}
        self.asked: set[str] = set()
        self.learned: dict[str, str] = {}
        self.rows: defaultdict[tuple[int, date, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0))

    def know(self, domains: Iterable[str]) -> None:
        wanted = set(domains) - self.asked
        self.asked.update(wanted)
        self.domains.update(recorded_providers(self.conn, wanted))

    def provider(self, domain: str, recorded: str | None = None) -> str:
        if recorded:
            if self.domains.get(domain) != recorded:
                self.domains[domain] = self.learned[domain] = recorded
            return recorded
        return self.domains.get(domain) or provider_for_domain(domain) or OTHER

    def add(self, tenant_id: int, day: Any, provider: str, counter: str, n: int) -> None:
        self.rows[(tenant_id, _as_date(day), provider)][counter] += n

    def write(self) -> None:
        conn = self.conn
        if self.learned:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            stmt = insert(REPORT_DOMAINS)
            conn.execute(stmt.on_conflict_do_update(index_elements=["domain"],
                                                    set_={"provider": stmt.excluded.provider}),
                         [{"domain": d, "provider": p} for d, p in self.learned.items()])
        if not self.rows:
            return
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(DAILY_STATS)
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "day", "provider"],
            set_={c: DAILY_STATS.c[c] + stmt.excluded[c] for c in COUNTERS})
        conn.execute(stmt, [{"tenant_id": t, "day": d, "provider": p, **counts}
                            for (t, d, p), counts in sorted(self.rows.items())])


def _which(table: Any, mark: _Mark, hi: int, filled: list[int]) -> ColumnElement[bool]:
    rng = and_(table.c.id > mark.last_id, table.c.id <= hi)
    return or_(rng, table.c.id.in_(filled)) if filled else rng


def _count_messages(counts: _Counts, where: ColumnElement[bool]) -> int:
    conn = counts.conn
    day, domain = _day(conn, MESSAGES.c.sent_at), domain_of(conn, MESSAGES.c.recipient)
    rows = conn.execute(select(MESSAGES.c.tenant_id, day, MESSAGES.c.provider, domain, func.count())
                        .where(where).group_by(MESSAGES.c.tenant_id, day, MESSAGES.c.provider, domain)).all()
    counts.know(row[3] for row in rows)
    total = 0
    for tenant_id, d, provider, dom, n in rows:
        counts.add(tenant_id, d, counts.provider(dom, provider), "sent", n)
        total += n
    return total


def _counter_of(kind: str, hard: bool | None, disposition: str) -> str | None:
    if disposition == "alert":
        # Sender-side: blocks, reputation, authentication (and ARF auth-failure reports).
        return "sender_failures"
    if kind == "bounce":
        return "hard_bounces" if hard else "soft_bounces"
    return {"delivered": "delivered", "delay": "deferred", "complaint": "complaints",
            "unsubscribe": "unsubscribes"}.get(kind)


def _count_events(counts: _Counts, where: ColumnElement[bool]) -> int:
    conn = counts.conn
    day, domain = _day(conn, EVENTS.c.occurred_at), domain_of(conn, EVENTS.c.address)
    columns = (EVENTS.c.tenant_id, day, domain, EVENTS.c.kind, EVENTS.c.hard_bounce, EVENTS.c.disposition)
    rows = conn.execute(select(*columns, func.count()).where(where, EVENTS.c.kind != "autoreply")
                        .group_by(*columns)).all()
    counts.know(row[2] for row in rows)
    total = 0
    for tenant_id, d, dom, kind, is_hard, disposition, n in rows:
        counter = _counter_of(kind, bool(is_hard), disposition)
        if counter is not None:
            counts.add(tenant_id, d, counts.provider(dom), counter, n)
            total += n
    return total


def _once(engine: Engine, patience: timedelta, result: RollupResult) -> bool:
    """One chunk of each source in one transaction; False once both are caught up."""
    now = utcnow()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql" and not conn.execute(
                select(func.pg_try_advisory_xact_lock(_LOCK_KEY))).scalar_one():
            # Another process is rolling up; what is new is theirs.
            return False
        counts = _Counts(conn)
        moved = False
        for name, table, counter in (("messages", MESSAGES, _count_messages),
                                     ("events", EVENTS, _count_events)):
            mark = _load_mark(conn, name)
            plan = _plan(conn, table, mark, now, patience)
            if plan is None:
                continue
            new, filled, hi = plan
            n = counter(counts, _which(table, mark, hi, filled)) if hi > mark.last_id or filled else 0
            _advance(conn, name, mark, new)
            if name == "messages":
                result.messages += n
            else:
                result.events += n
            moved = moved or hi > mark.last_id or bool(filled)
        counts.write()
        result.days.update((t, d) for t, d, _ in counts.rows)
        return moved


def roll_up(engine: Engine, gap_seconds: float = 600.0) -> RollupResult:
    """Consume everything new; safe to call from any number of processes at once."""
    result = RollupResult()
    patience = timedelta(seconds=gap_seconds)
    while True:
        try:
            if not _once(engine, patience, result):
                return result
        except _Raced:
            # Someone else applied this range; what is left is theirs or the next call's.
            return result

