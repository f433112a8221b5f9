"""Accuracy and speed of the feedback parser on the public bounce corpus.

    .venv/bin/python bench/parse_bench.py            # accuracy + speed
    .venv/bin/python bench/parse_bench.py accuracy   # score, confusion table, misses
    .venv/bin/python bench/parse_bench.py speed      # msgs/s, --jobs 2, flufl.bounce, 20 MB

The corpus is read from $POSTWARDEN_CORPUS (default ../shared/corpus relative
to the repository root); nothing is copied into the repository.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

from postwarden.classify import classify_reply
from postwarden.parse import parse_message
from postwarden.parse.evaluate import compare

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path | None:
    base = Path(os.environ.get("POSTWARDEN_CORPUS", ROOT.parent / "shared" / "corpus"))
    bounces = base / "bounces"
    return bounces if (bounces / "expected.json").exists() else None


def accuracy(bounces: Path, show_misses: bool = True) -> tuple[float, float]:
    files = json.loads((bounces / "expected.json").read_text())["files"]
    exact = total = hard_right = hard_total = 0
    confusion: Counter[tuple[str, str]] = Counter()
    misses: list[str] = []
    for rel, entry in sorted(files.items()):
        expected = entry.get("expected")
        if expected is None:
            continue
        result = parse_message((bounces / rel).read_bytes())
        verdict = compare(expected, result.records)
        total += 1
        exact += verdict.exact
        hard_right += verdict.hard_right
        hard_total += verdict.hard_total
        for pos, want in enumerate(expected):
            got = result.records[pos].reason if pos < len(result.records) else "-"
            confusion[(want["reason"], got or "-")] += 1
        if not verdict.exact:
            misses.append(f"{rel} [{result.decoder}]: " + "; ".join(verdict.problems))
    msg_pct = 100.0 * exact / max(total, 1)
    hard_pct = 100.0 * hard_right / max(hard_total, 1)
    print(f"messages exactly right: {exact}/{total} = {msg_pct:.2f}%")
    print(f"records with the right hard_bounce: {hard_right}/{hard_total} = {hard_pct:.2f}%")
    wrong = {k: v for k, v in confusion.items() if k[0] != k[1]}
    if wrong:
        print("\nconfusion (expected -> got: count), mistakes only:")
        for (want, got), n in sorted(wrong.items(), key=lambda kv: -kv[1]):
            print(f"  {want:>16} -> {got:<16} {n}")
    if show_misses and misses:
        print(f"\nmisses ({len(misses)}):")
        for line in misses:
            print("  " + line)
    return msg_pct, hard_pct


def _messages(bounces: Path) -> list[bytes]:
    paths = sorted(p for p in (bounces / "maildir").rglob("*") if p.is_file())
    return [p.read_bytes() for p in paths]


def _parse_count(batch: list[bytes]) -> int:
    # parse_message classifies every record it finds (reason, hard_bounce): this
    # is the whole parse + classify work.
    for raw in batch:
        parse_message(raw)
    return len(batch)


_WORK: list[bytes] = []


def _parse_range(span: tuple[int, int]) -> int:
    return _parse_count(_WORK[span[0] : span[1]])


def _classify_count(lines: list[str]) -> int:
    for line in lines:
        classify_reply(line)
    return len(lines)


def speed(bounces: Path, rounds: int = 5) -> None:
    messages = _messages(bounces)
    work = messages * rounds
    _parse_count(messages[:50])
    start = time.perf_counter()
    _parse_count(work)
    single = len(work) / (time.perf_counter() - start)
    print(f"single core: {len(work)} messages, {single:,.0f} msgs/s (parse + classify)")

    lines = [r.diagnostic for raw in messages for r in parse_message(raw).records if r.diagnostic]
    lines = lines * 10
    start = time.perf_counter()
    _classify_count(lines)
    per_line = len(lines) / (time.perf_counter() - start)
    print(f"classify_reply alone: {per_line:,.0f} replies/s")

    # Workers are forked with the messages already in memory and are handed
    # index ranges, so what is timed is parsing, not pickling bytes through pipes.
    global _WORK
    _WORK = work
    ranges = [(i, min(i + 400, len(work))) for i in range(0, len(work), 400)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_parse_range, ranges[:2])
        start = time.perf_counter()
        done = sum(pool.imap_unordered(_parse_range, ranges))
        double = done / (time.perf_counter() - start)
    print(f"--jobs 2:    {done} messages, {double:,.0f} msgs/s ({double / single:.2f}x)")

    try:
        import email

        from flufl.bounce import scan_message
    except ImportError:
        print("flufl.bounce: not installed (pip install -e '.[bench]' to compare)")
    else:
        start = time.perf_counter()
        for raw in work:
            with contextlib.suppress(Exception):
                scan_message(email.message_from_bytes(raw))
        flufl = len(work) / (time.perf_counter() - start)
        print(f"flufl.bounce: {flufl:,.0f} msgs/s; postwarden is {single / flufl:.1f}x faster")

    big = _big_message()
    start = time.perf_counter()
    result = parse_message(big)
    took = time.perf_counter() - start
    print(f"20 MB message: {took:.3f} s (kind={result.kind}, records={len(result.records)})")


def _big_message() -> bytes:
    head = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: a@example.com\nSubject: Undelivered Mail\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;"
        b" boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nUndeliverable.\n\n"
        b"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        b"Final-Recipient: rfc822; u@example.net\nAction: failed\nStatus: 5.1.1\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n--b\nContent-Type: message/rfc822\n\n"
        b"From: a@example.com\nTo: u@example.net\nSubject: big\n"
        b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
    )
    line = b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n"
    body = line * (20 * 1024 * 1024 // len(line))
    return head + body + b"\n--b--\n"


def main(argv: list[str]) -> int:
    bounces = corpus_dir()
    if bounces is None:
        print("corpus not found: set POSTWARDEN_CORPUS to the folder holding bounces/expected.json")
        return 0
    what = argv[1] if len(argv) > 1 else "all"
    if what in ("all", "accuracy"):
        accuracy(bounces, show_misses=True)
    if what in ("all", "speed"):
        speed(bounces)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
