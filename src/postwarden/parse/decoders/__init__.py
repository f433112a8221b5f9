"""Format decoders, one module per format, found by scanning this package.

Adding a format means adding one module here (see :mod:`postwarden.parse.decoder`
for the interface) and one fixture under ``tests/parse/fixtures``; nothing else
needs registering.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import cast

from postwarden.parse.decoder import Decoder


class DuplicateDecoder(RuntimeError):
    pass


def discover() -> list[Decoder]:
    """Import every module of this package and return its decoders in run order."""
    found: dict[str, Decoder] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(module, "NAME", None)
        if not isinstance(name, str) or not callable(getattr(module, "decode", None)):
            raise TypeError(f"decoder module {info.name} lacks NAME or decode()")
        if name in found:
            raise DuplicateDecoder(f"decoder name {name!r} is defined twice ({info.name})")
        found[name] = cast(Decoder, module)
    return sorted(found.values(), key=lambda d: (d.PRIORITY, d.NAME))


DECODERS: list[Decoder] = discover()
