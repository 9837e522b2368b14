"""Settings: what a user can put in `config.toml` (in the platformdirs user config directory).

Every field is documented here, and `crm config` prints them with their current values. Command-line
options and the `CRM_DB_URL` / `CRM_USER` environment variables win over the file.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crm_tui import locations


class ConfigError(Exception):
    """The config file exists but cannot be used; the message says where and why."""


class SmtpSettings(BaseModel):
    """The mail server automations send email through ([smtp] in config.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(description="SMTP server name or address.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587 with starttls, 465 with ssl, 25 plain).")
    sender: str = Field(description="The From address of automation email.")
    username: str | None = Field(default=None, description="Login for the server, if it needs one.")
    password: str | None = Field(default=None, description="Password for the server (keep config.toml private).")
    security: Literal["starttls", "ssl", "none"] = Field(default="starttls", description="How the connection is secured.")
    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the server.")


class Settings(BaseModel):
    """The user's settings. Unknown keys are an error, so a typo never goes unnoticed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database: str | None = Field(
        default=None,
        description=(
            "Database to open when --db is not given: a path to a SQLite file, or a sqlite:/// or "
            "postgresql:// URL. Default: crm.sqlite3 in the data directory."
        ),
    )
    user: str | None = Field(
        default=None,
        description="Login to act as. Default: the operating-system user name.",
    )
    theme: str = Field(default="textual-dark", description="Textual theme name (ctrl+p > Theme lists them).")
    currency: str = Field(
        default="USD",
        description="ISO 4217 currency code a new workspace starts with (amounts are shown in it).",
    )
    keymap: dict[str, str] = Field(
        default_factory=dict,
        description=(
            'Remapped keys, binding id to keys, e.g. [keymap] "board.move_next" = "ctrl+right,L" '
            "(quote the id: it has a dot). `crm keys` lists every binding id."
        ),
    )
    animations: Literal["full", "basic", "none"] = Field(
        default="basic",
        description='Animation level; "none" is kindest to slow SSH links.',
    )
    busy_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a write waits for another process holding the SQLite lock before giving up.",
    )
    smtp: SmtpSettings | None = Field(
        default=None,
        description="[smtp] host, port, sender, username, password, security: where automation email goes.",
    )
    backups_kept: int = Field(
        default=10,
        ge=1,
        description="How many automatic pre-upgrade backups to keep per database.",
    )

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be a three-letter ISO 4217 code such as USD or EUR")
        return value.upper()


def load_settings(path: Path | None = None) -> Settings:
    """Read settings from `path` (default: the user's config.toml) and the environment.

    A missing file means defaults. A file that cannot be parsed raises ConfigError naming the file.
    """
    path = path or locations.config_file()
    data: dict[str, object] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: {error}") from error
    if url := os.environ.get("CRM_DB_URL"):
        data["database"] = url
    if user := os.environ.get("CRM_USER"):
        data["user"] = user
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'file'}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from error
