"""Where crm-tui keeps its files (platformdirs). Nothing is created at import time.

Each function only computes a path; callers that write there create the directory first with
`ensure_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

_APP = "crm-tui"


def config_dir() -> Path:
    """The user config directory (holds config.toml). `CRM_CONFIG_DIR` overrides it."""
    if override := os.environ.get("CRM_CONFIG_DIR"):
        return Path(override)
    from platformdirs import user_config_path

    return user_config_path(_APP, appauthor=False)


def data_dir() -> Path:
    """The user data directory (databases, backups, logs). `CRM_DATA_DIR` overrides it."""
    if override := os.environ.get("CRM_DATA_DIR"):
        return Path(override)
    from platformdirs import user_data_path

    return user_data_path(_APP, appauthor=False)


def config_file() -> Path:
    """The settings file."""
    return config_dir() / "config.toml"


def default_database() -> Path:
    """The SQLite file used when no database is named."""
    return data_dir() / "crm.sqlite3"


def demo_database() -> Path:
    """The separate SQLite file `crm demo` opens."""
    return data_dir() / "demo.sqlite3"


def backups_dir() -> Path:
    """Where automatic and on-demand backups go."""
    return data_dir() / "backups"


def log_file() -> Path:
    """Where the app logs errors it recovered from (e.g. a failing event subscriber)."""
    return data_dir() / "crm.log"


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing, private to the user, and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
