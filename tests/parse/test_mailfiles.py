"""Reading messages from paths: files, folders, mbox streaming, stdin, and the
error for a path that cannot be read."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from postwarden.intake.mailfiles import MailFileError, iter_messages, read_mbox

MBOX = (
    b"From a@example.org Mon Feb  3 10:00:00 2025\n"
    b"Subject: one\n\nbody\n>From the quoted line\n\n"
    b"From b@example.org Mon Feb  3 10:00:01 2025\n"
    b"Subject: two\n\nbody\nFrom inside a paragraph stays\n"
)


def test_file_and_folder_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.eml").write_bytes(b"Subject: b\n\nb\n")
    (tmp_path / "a.eml").write_bytes(b"Subject: a\n\na\n")
    (tmp_path / "sub" / "c.eml").write_bytes(b"Subject: c\n\nc\n")
    got = list(iter_messages([str(tmp_path), str(tmp_path / "a.eml")]))
    assert [s for s, _ in got] == [
        str(tmp_path / "a.eml"), str(tmp_path / "b.eml"), str(tmp_path / "sub" / "c.eml"),
        str(tmp_path / "a.eml"),
    ]
    assert got[0][1] == b"Subject: a\n\na\n"


def test_mbox_is_split_and_unquoted(tmp_path: Path) -> None:
    box = tmp_path / "box"
    box.write_bytes(MBOX)
    got = list(iter_messages([str(box)]))
    assert [s for s, _ in got] == [f"{box}#1", f"{box}#2"]
    assert b"From the quoted line" in got[0][1] and b">From" not in got[0][1]
    assert got[1][1].endswith(b"From inside a paragraph stays\n")


def test_read_mbox_streams_lazily() -> None:
    def lines() -> object:
        yield b"From x Mon Feb  3 10:00:00 2025\n"
        yield b"Subject: one\n"
        yield b"\n"
        yield b"From y Mon Feb  3 10:00:00 2025\n"
        raise AssertionError("read past the second message before it was asked for")

    first = next(read_mbox("box", lines()))  # type: ignore[arg-type]
    assert first == ("box#1", b"Subject: one\n\n")


def test_stdin_single_message_and_mbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Subject: x\n\nhi\n")))
    assert list(iter_messages(["-"])) == [("-", b"Subject: x\n\nhi\n")]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(MBOX)))
    assert [s for s, _ in iter_messages(["-"])] == ["-#1", "-#2"]


def test_missing_path_raises_before_any_message(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(b"Subject: a\n\na\n")
    messages = iter_messages([str(tmp_path / "a.eml"), str(tmp_path / "nowhere.eml")])
    with pytest.raises(MailFileError) as caught:
        next(messages)
    assert caught.value.path == str(tmp_path / "nowhere.eml")
    assert "no such file" in caught.value.message


def test_unreadable_file_raises_or_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: a\n\na\n")
    real_open = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self == bad:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(MailFileError) as caught:
        list(iter_messages([str(bad)]))
    assert "Permission denied" in caught.value.message
    seen: list[MailFileError] = []
    assert list(iter_messages([str(bad)], on_error=seen.append)) == [(str(bad), b"")]
    assert [e.path for e in seen] == [str(bad)]
