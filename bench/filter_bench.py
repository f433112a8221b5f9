"""Benchmark the learning spam filter against bogofilter on the same online protocol.

Each message of the labels file, in order, is classified and then learned with its
true label (the user's click at once), by postwarden and by bogofilter, both starting
empty. Both are scored with the same code (postwarden.mailbox.evaluation).

    .venv/bin/python bench/filter_bench.py [--labels spam/labels_chrono.tsv] [--out DIR]

The corpus folder is $POSTWARDEN_CORPUS, by default ../shared/corpus beside the repo.
Corpus data is only read, never copied. bogofilter comes from Debian
(``apt-get install bogofilter``); without it, its half is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from postwarden.mailbox import SpamFilter  # noqa: E402
from postwarden.mailbox.evaluation import Outcome, read_labels, summarise  # noqa: E402
from postwarden.mailbox.verdict import Action  # noqa: E402


def corpus_folder() -> Path:
    return Path(os.environ.get("POSTWARDEN_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def run_postwarden(labels: Path, results: Path) -> dict[str, object]:
    """The contract command itself, in a child process, as a benchmark would run it."""
    command = [str(REPO / ".venv" / "bin" / "postwarden"), "filter", "evaluate", str(labels),
               "--results", str(results)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary: dict[str, object] = json.loads(done.stdout)
    # CPU time, not wall time: on a shared machine the wall clock counts other people's work
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary["cpu_seconds_whole_process"] = round(cpu, 2)
    count = summary["messages"]
    assert isinstance(count, int)
    summary["messages_per_cpu_second_whole_process"] = round(count / cpu, 1)
    summary["peak_rss_mib"] = round(after.ru_maxrss / 1024, 1)
    summary["command"] = " ".join(["postwarden", *command[1:]])
    return summary


def in_memory_rate(labels: Path) -> dict[str, float]:
    """Classify + learn per second with the messages already in memory (no disk), by the
    wall clock and by this process's CPU time (one core)."""
    items = read_labels(labels)
    messages = [((labels.parent / item.path).read_bytes(), item.is_spam) for item in items]
    spam_filter = SpamFilter()
    started, cpu_started = time.perf_counter(), time.process_time()
    for raw, is_spam in messages:
        prepared = spam_filter.prepare(raw)
        spam_filter.classify(prepared)
        spam_filter.learn(prepared, is_spam=is_spam)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"messages_per_second": round(len(messages) / wall, 1),
            "messages_per_cpu_second": round(len(messages) / cpu, 1)}


def run_bogofilter(labels: Path, results: Path) -> dict[str, object]:
    """bogofilter with its default settings: score with -TT (16 digits), spam when the
    score reaches its spam_cutoff (exit status 0), then train with -s or -n."""
    items = read_labels(labels)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="bogofilter-bench-") as db, results.open("w") as sink:
        started = time.perf_counter()
        for item in items:
            path = labels.parent / item.path
            with path.open("rb") as fh:
                scored = subprocess.run(["bogofilter", "-d", db, "-TT"], stdin=fh, capture_output=True)
            if scored.returncode == 3:  # no word list yet: bogofilter has no opinion
                score, action = 0.52, Action.INBOX
            else:
                score = float(scored.stdout.split()[-1])
                action = Action.SPAM if scored.returncode == 0 else Action.INBOX
            with path.open("rb") as fh:
                subprocess.run(["bogofilter", "-d", db, "-s" if item.is_spam else "-n"], stdin=fh, check=True)
            outcomes.append(Outcome(item.path, score, action, item.is_spam, False, score))
            truth = "spam" if item.is_spam else "ham"
            sink.write(f"{item.path}\t{score:.16f}\t{action.value}\t{truth}\n")
        summary = summarise(outcomes, time.perf_counter() - started)
    version = subprocess.run(["bogofilter", "-V"], capture_output=True, text=True).stdout.splitlines()[0]
    summary["version"] = version.strip()
    summary["command"] = "per message: bogofilter -d DB -TT < msg; then bogofilter -d DB -s|-n < msg"
    summary["note"] = "messages_per_second includes starting two bogofilter processes per message"
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default="spam/labels_chrono.tsv", help="labels file, within the corpus")
    parser.add_argument("--out", type=Path, help="folder for per-message results (default: a temp folder)")
    parser.add_argument("--no-bogofilter", action="store_true", help="skip the bogofilter side")
    args = parser.parse_args()

    labels = corpus_folder() / args.labels
    if not labels.is_file():
        print(f"skipped: no labels file at {labels} (set POSTWARDEN_CORPUS to the corpus folder)")
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="filter-bench-"))
    out.mkdir(parents=True, exist_ok=True)

    report: dict[str, object] = {
        "labels": str(labels),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "results_folder": str(out),
    }
    report["postwarden"] = run_postwarden(labels, out / "postwarden.tsv")
    report["postwarden_in_memory"] = in_memory_rate(labels)
    if args.no_bogofilter:
        report["bogofilter"] = "skipped (--no-bogofilter)"
    elif shutil.which("bogofilter") is None:
        report["bogofilter"] = "skipped: bogofilter not installed (apt-get install bogofilter)"
    else:
        report["bogofilter"] = run_bogofilter(labels, out / "bogofilter.tsv")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
