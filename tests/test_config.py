"""Settings from config.toml and the environment; nothing created at import time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_tui.config import ConfigError, Settings, load_settings


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "missing.toml")
    assert settings == Settings()
    assert settings.currency == "USD" and settings.database is None


def test_every_setting_is_documented() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_values_from_the_file_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text('currency = "eur"\ntheme = "nord"\n[keymap]\n"board.move_next" = "ctrl+right"\n')
    monkeypatch.setenv("CRM_DB_URL", "postgresql://db/crm")
    settings = load_settings(path)
    assert (settings.currency, settings.theme, settings.database) == ("EUR", "nord", "postgresql://db/crm")
    assert settings.keymap == {"board.move_next": "ctrl+right"}


@pytest.mark.parametrize(
    ("text", "message"),
    [("currency = 'EURO'", "currency"), ("colour = 'red'", "colour"), ("theme = ", "config.toml")],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_importing_everything_creates_no_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "d"), "XDG_CONFIG_HOME": str(home / "c")}
    env.pop("CRM_DATA_DIR", None)
    env.pop("CRM_CONFIG_DIR", None)
    code = "import crm_tui.cli, crm_tui.app, crm_tui.services.workspace, crm_tui.services.demo, crm_tui.config"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert not home.exists()
