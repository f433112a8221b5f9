"""Where a filter model's state lives between runs, for the command line and tests:
bytes in, bytes out under a name (``global`` for a one-table deployment). The service
keeps its model in the database instead (:mod:`postwarden.mailbox.db`, with a revision
so that processes sharing it see each other's clicks)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from postwarden.errors import InvalidInput
from postwarden.mailbox.model import LearnedModel, ModelParams

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class ModelStore(Protocol):
    def load(self, name: str) -> bytes | None:
        """The saved state under ``name``, or ``None`` when nothing was saved."""

    def save(self, name: str, data: bytes) -> None:
        """Replace the state under ``name`` (atomically: readers see old or new)."""


class MemoryModelStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def load(self, name: str) -> bytes | None:
        return self._blobs.get(name)

    def save(self, name: str, data: bytes) -> None:
        self._blobs[name] = bytes(data)


class FileModelStore:
    """One file per name in a folder."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        if not _NAME.fullmatch(name) or name.startswith("."):
            raise InvalidInput(f"bad model name {name!r}")
        return self.folder / f"{name}.pwfilter"

    def load(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def save(self, name: str, data: bytes) -> None:
        path = self._path(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def load_model(store: ModelStore, name: str = "global", params: ModelParams | None = None) -> LearnedModel:
    """The saved model under ``name``, or a new empty one with ``params``."""
    data = store.load(name)
    if data is None:
        return LearnedModel(params)
    return LearnedModel.from_bytes(data)


def save_model(store: ModelStore, model: LearnedModel, name: str = "global") -> None:
    store.save(name, model.to_bytes())
