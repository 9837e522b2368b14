"""Who is using the workspace."""

from __future__ import annotations

import getpass

from crm_tui import clock
from crm_tui.models import User, database
from crm_tui.schemas.records import UserIn
from crm_tui.services.errors import ServiceError
from crm_tui.services.context import Context
from crm_tui.services.unit import Txn
from crm_tui.services.validation import validate


def os_login() -> str:
    """The operating-system user name."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return "user"


def _display_name(login: str) -> str:
    try:
        import pwd

        gecos = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
        if gecos:
            return gecos
    except (ImportError, KeyError):
        pass
    return login.replace(".", " ").replace("_", " ").title()


def ensure_user(login: str) -> tuple[int, str]:
    """The (id, login) of the user `login`, creating them on first use.

    The first user of an empty workspace becomes its admin; later ones join as members.
    """
    existing = User.get_or_none(User.login == login)
    if existing is not None:
        if not existing.active:
            raise ServiceError(f"user {login!r} is deactivated in this workspace; ask an admin")
        return existing.id, existing.login
    values = validate(UserIn, {"login": login, "name": _display_name(login)}, "User")
    with database.atomic():
        existing = User.get_or_none(User.login == login)  # another process may have won the race
        if existing is not None:
            return existing.id, existing.login
        values["role"] = "member" if User.select().exists() else "admin"
        now = clock.now()
        user_id = User.insert(**values, created_at=now, updated_at=now).execute()
        # No session exists before the user does: the new user is the one who acts.
        Txn(Context(user_id=user_id, login=values["login"])).log("record.created", "user", user_id, new=values)
    return user_id, values["login"]
