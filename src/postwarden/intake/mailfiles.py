"""Reading raw messages from paths: an ``.eml`` file, a maildir or any folder
(every file under it, in sorted order), an mbox file, or ``-`` for stdin (one
message or an mbox stream).

:func:`iter_messages` yields ``(source, raw bytes)`` one message at a time; an
mbox is streamed line by line, so memory stays flat however large it is. A
message taken from an mbox is named ``path#N`` (N counts from 1); any other
message is named by its path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from postwarden.errors import InvalidInput

STDIN = "-"
_MBOX_MARK = b"From "


class MailFileError(InvalidInput):
    """A path given to :func:`iter_messages` cannot be read."""

    code = "mail_file_unreadable"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}", details={"path": path})
        self.path = path
        self.reason = reason


def iter_messages(
    paths: list[str],
    *,
    on_error: Callable[[MailFileError], None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(source, raw)`` for every message under ``paths``, in order.

    Every path is checked before the first message is yielded, so a mistyped
    path fails before any work is done: :class:`MailFileError` is raised.
    A file that exists but cannot be read (permissions, I/O error) also raises
    :class:`MailFileError`, unless ``on_error`` is given: then ``on_error`` is
    called and the file yields ``(source, b"")`` in its place, so a caller
    that reports per message can say so in order and carry on.
    """
    check_paths(paths)
    for path in paths:
        if path == STDIN:
            yield from _from_stream(STDIN, sys.stdin.buffer)
            continue
        p = Path(path)
        if p.is_dir():
            for child in sorted(c for c in p.rglob("*") if c.is_file()):
                yield from _from_file(child, on_error)
        else:
            yield from _from_file(p, on_error)


def check_paths(paths: list[str]) -> None:
    """Raise :class:`MailFileError` for the first path that does not exist."""
    for path in paths:
        if path != STDIN and not Path(path).exists():
            raise MailFileError(path, "no such file or folder")


def _from_file(
    path: Path, on_error: Callable[[MailFileError], None] | None
) -> Iterator[tuple[str, bytes]]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield from _unreadable(path, exc, on_error)
        return
    with fh:
        try:
            head = fh.read(len(_MBOX_MARK))
            fh.seek(0)
            if head == _MBOX_MARK:
                yield from read_mbox(str(path), fh)
            else:
                yield str(path), fh.read()
        except OSError as exc:
            yield from _unreadable(path, exc, on_error)


def _unreadable(
    path: Path, exc: OSError, on_error: Callable[[MailFileError], None] | None
) -> Iterator[tuple[str, bytes]]:
    error = MailFileError(str(path), exc.strerror or str(exc))
    if on_error is None:
        raise error from exc
    on_error(error)
    yield str(path), b""


def _from_stream(name: str, stream: BinaryIO) -> Iterator[tuple[str, bytes]]:
    head = stream.read(len(_MBOX_MARK))
    if head == _MBOX_MARK:
        yield from read_mbox(name, _prefixed(head, stream))
    else:
        yield name, head + stream.read()


def _prefixed(prefix: bytes, stream: BinaryIO) -> Iterator[bytes]:
    """The lines of ``stream`` with a few bytes already read put back in front."""
    yield prefix + stream.readline()
    yield from stream


def read_mbox(name: str, lines: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """Split an mbox, given as lines, into ``(name#N, raw)``: one message at a
    time, never the whole file in memory. ``>From `` quoting (mboxrd/mboxo)
    is undone. A ``From `` line starts a message only at the top or after a
    blank line."""
    current: list[bytes] = []
    count = 0
    started = False
    for line in lines:
        if line.startswith(_MBOX_MARK) and (not current or current[-1].strip() == b""):
            if started:
                count += 1
                yield f"{name}#{count}", b"".join(current)
            current = []
            started = True
            continue
        if line.startswith(b">") and line.lstrip(b">").startswith(_MBOX_MARK):
            line = line[1:]
        current.append(line)
    if started and current:
        count += 1
        yield f"{name}#{count}", b"".join(current)
