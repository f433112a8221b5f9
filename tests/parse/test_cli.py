"""The parse and classify commands: the JSON-lines contract, mbox streaming,
stdin, and carrying on past a bad message."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from postwarden.cli import _load_command_modules
from postwarden.cli.app import app

FIXTURES = Path(__file__).with_name("fixtures")
runner = CliRunner()
_load_command_modules()


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_classify_prints_json() -> None:
    result = runner.invoke(app, ["classify", "550 5.1.1 <a@b.example>: User unknown"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["reason"] == "userunknown" and data["hard_bounce"] is True


def test_parse_folder_jsonl_in_order() -> None:
    result = runner.invoke(app, ["parse", "--jsonl", str(FIXTURES)])
    assert result.exit_code == 0
    items = _lines(result.output)
    assert [i["source"] for i in items] == sorted(str(p) for p in FIXTURES.glob("*.eml"))
    first = items[0]
    assert set(first) >= {"source", "kind", "records", "error"}


def test_parse_mbox_and_bad_message(tmp_path: Path) -> None:
    mbox = tmp_path / "box"
    parts = []
    for name in ("postfix-dsn.eml", "vacation.eml"):
        body = (FIXTURES / name).read_bytes().replace(b"\nFrom ", b"\n>From ")
        parts.append(b"From MAILER-DAEMON Mon Feb  3 10:00:00 2025\n" + body + b"\n")
    parts.append(b"From nobody Mon Feb  3 10:00:00 2025\n\n")
    mbox.write_bytes(b"".join(parts))
    result = runner.invoke(app, ["parse", "--jsonl", str(mbox)])
    assert result.exit_code == 0
    items = _lines(result.output)
    assert [i["source"] for i in items] == [f"{mbox}#1", f"{mbox}#2", f"{mbox}#3"]
    assert items[0]["kind"] == "bounce" and items[1]["kind"] == "autoreply"
    assert items[2]["error"]


def test_parse_stdin_and_jobs() -> None:
    raw = (FIXTURES / "qmail-plain.eml").read_bytes()
    result = runner.invoke(app, ["parse", "--jsonl", "-"], input=raw)
    assert result.exit_code == 0
    assert _lines(result.output)[0]["records"][0]["reason"] == "mailboxfull"
    single = runner.invoke(app, ["parse", "--jsonl", str(FIXTURES)]).output
    double = runner.invoke(app, ["parse", "--jsonl", "--jobs", "2", str(FIXTURES)]).output
    assert single == double


def test_parse_missing_path_fails() -> None:
    result = runner.invoke(app, ["parse", "--jsonl", "/nonexistent/nowhere.eml"])
    assert result.exit_code != 0


def test_parse_table_output() -> None:
    result = runner.invoke(app, ["parse", str(FIXTURES / "postfix-dsn.eml")])
    assert result.exit_code == 0
    assert "userunknown" in result.output
