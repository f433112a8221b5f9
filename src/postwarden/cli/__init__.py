"""The ``postwarden`` command line. Each module in this package adds its commands
to :data:`postwarden.cli.app.app`; they are found by scanning the package, so adding
a command group touches one file."""

from __future__ import annotations

import importlib
import pkgutil

from postwarden.cli.app import app


def _load_command_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "app":
            importlib.import_module(f"{__name__}.{module.name}")


def main() -> None:
    _load_command_modules()
    app()
