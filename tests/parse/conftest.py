from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).with_name("fixtures")


def corpus_bounces() -> Path | None:
    base = Path(os.environ.get("POSTWARDEN_CORPUS", ROOT.parent / "shared" / "corpus"))
    path = base / "bounces"
    return path if (path / "expected.json").exists() else None


@pytest.fixture(scope="session")
def bounces() -> Path:
    path = corpus_bounces()
    if path is None:
        pytest.skip("bounce corpus not found: set POSTWARDEN_CORPUS to the folder holding bounces/")
    return path


@pytest.fixture(scope="session")
def expected(bounces: Path) -> dict[str, Any]:
    files: dict[str, Any] = json.loads((bounces / "expected.json").read_text())["files"]
    return files
