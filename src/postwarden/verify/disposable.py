"""Disposable (throw-away) mailbox domains: the ``disposable-email-domains`` package's
list, which a package upgrade updates, plus the operator's own additions and
exceptions from settings and from a file that is read again whenever it changes."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import disposable_email_domains

from postwarden.settings import Settings


def _domains(lines: Iterable[str]) -> set[str]:
    """One domain a line, ``#`` starting a comment."""
    return {line.split("#", 1)[0].strip().lower().rstrip(".") for line in lines} - {""}


class DisposableDomains:
    def __init__(self, extra: Iterable[str] = (), allowed: Iterable[str] = (), file: str = "") -> None:
        self._extra = _domains(extra)
        self._allowed = _domains(allowed)
        self._file = Path(file) if file else None
        self._file_stamp: tuple[float, int] | None = None
        self._from_file: set[str] = set()
        self._file_allowed: set[str] = set()
        self.refresh()

    @classmethod
    def from_settings(cls, settings: Settings) -> DisposableDomains:
        return cls(settings.disposable_domains_extra, settings.disposable_domains_allow,
                   settings.disposable_domains_file)

    def refresh(self) -> None:
        """Read the override file again if it changed since the last look. A line
        ``!example.com`` says the domain is not disposable whatever the list says."""
        if self._file is None:
            return
        try:
            stat = os.stat(self._file)
        except OSError:
            self._file_stamp, self._from_file, self._file_allowed = None, set(), set()
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._file_stamp:
            return
        entries = _domains(self._file.read_text(encoding="utf-8", errors="replace").splitlines())
        self._file_allowed = {e[1:] for e in entries if e.startswith("!")}
        self._from_file = {e for e in entries if not e.startswith("!")}
        self._file_stamp = stamp

    def __contains__(self, domain: object) -> bool:
        """True for a listed domain or any name under one (``x.mailinator.com``)."""
        if not isinstance(domain, str):
            return False
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            name = ".".join(labels[start:])
            if name in self._allowed or name in self._file_allowed \
                    or name in disposable_email_domains.allowlist:
                return False
            if name in self._extra or name in self._from_file or name in disposable_email_domains.blocklist:
                return True
        return False
