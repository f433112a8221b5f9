"""The decoder registry is exactly the modules in the decoders folder."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest

from postwarden.parse import decoders
from postwarden.parse.decoders import DECODERS, DuplicateDecoder, discover


def test_registry_matches_folder() -> None:
    folder = Path(decoders.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")}
    registered = {d.__name__.rsplit(".", 1)[-1] for d in DECODERS}  # type: ignore[attr-defined]
    assert registered == modules


def test_names_are_unique_and_order_is_by_priority() -> None:
    names = [d.NAME for d in DECODERS]
    assert len(names) == len(set(names))
    priorities = [d.PRIORITY for d in DECODERS]
    assert priorities == sorted(priorities)


def test_duplicate_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    clash = types.ModuleType(f"{decoders.__name__}.zz_clash")
    clash.NAME = DECODERS[0].NAME  # type: ignore[attr-defined]
    clash.PRIORITY = 1  # type: ignore[attr-defined]
    clash.decode = lambda msg: None  # type: ignore[attr-defined]
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None) -> types.ModuleType:
        return clash if name.endswith(".zz_clash") else real_import(name, package)

    real_iter = decoders.pkgutil.iter_modules

    def fake_iter(path: object) -> list[object]:
        found = list(real_iter(path))  # type: ignore[arg-type]
        return [*found, types.SimpleNamespace(name="zz_clash")]

    monkeypatch.setattr(decoders.importlib, "import_module", fake_import)
    monkeypatch.setattr(decoders.pkgutil, "iter_modules", fake_iter)
    monkeypatch.setitem(sys.modules, clash.__name__, clash)
    with pytest.raises(DuplicateDecoder):
        discover()
