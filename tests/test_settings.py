"""Every setting is documented, and values are read from where the docs say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postwarden import settings as settings_mod
from postwarden.errors import InvalidInput

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


@pytest.mark.parametrize("setting", settings_mod.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_with_its_default(setting: settings_mod.Setting) -> None:
    assert setting.help.strip()
    rows = [line for line in DOC.read_text().splitlines() if line.startswith(f"| `{setting.name}` |")]
    assert len(rows) == 1, f"docs/settings.md lacks a row for {setting.name}"
    if setting.name != "policy":
        assert f"`{json.dumps(setting.default)}`" in rows[0]


def test_environment_and_file_and_policy_merge(tmp_path: Path) -> None:
    config = tmp_path / "postwarden.toml"
    config.write_text('http_port = 9000\n[policy.soft_bounce]\nsuppress_after = 3\n')
    loaded = settings_mod.load(env={"POSTWARDEN_CONFIG": str(config), "POSTWARDEN_SMTP_PORT": "0",
                                    "POSTWARDEN_ALLOW_ANY_SCOPE": "no"})
    assert (loaded.http_port, loaded.smtp_port, loaded.allow_any_scope) == (9000, 0, False)
    assert loaded.policy["soft_bounce"]["suppress_after"] == 3
    assert loaded.policy["soft_bounce"]["window_days"] == 14  # the rest of the default stays


def test_unknown_settings_and_policy_classes_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("no_such_setting = 1\n")
    with pytest.raises(InvalidInput, match="unknown setting"):
        settings_mod.load(env={"POSTWARDEN_CONFIG": str(config)})
    with pytest.raises(InvalidInput, match="unknown reason class"):
        settings_mod.load(env={"POSTWARDEN_POLICY": '{"whim": {}}'})


def test_each_setting_is_declared_once() -> None:
    names = [s.name for s in settings_mod.SETTINGS]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
