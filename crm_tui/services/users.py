"""Who is using the workspace."""

from __future__ import annotations

import getpass

from crm_tui import clock
from crm_tui.models import User, database
from crm_tui.schemas.records import UserIn
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.unit import Txn
from crm_tui.services.validation import validate
from crm_tui.services.workspace_settings import get_setting

SWITCH_SETTING = "users.allow_switch"
"""Workspace setting: may people act as another user with --user (default yes)."""
JOIN_SETTING = "users.join"
"""Workspace setting: "open" (anyone who opens the workspace joins as a member) or "closed"."""


def by_login(login: str) -> User:
    """The user called `login`, active or not (ServiceError when there is none)."""
    row = User.get_or_none(User.login == login)
    if row is None:
        raise ServiceError(f"there is no user {login!r} in this workspace")
    return row


def os_login() -> str:
    """The operating-system user name."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return "user"


def display_name(login: str) -> str:
    """A readable name for `login`: the account's full name, else the login in words."""
    try:
        import pwd

        gecos = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
        if gecos:
            return gecos
    except (ImportError, KeyError):
        pass
    return login.replace(".", " ").replace("_", " ").title()


def sign_in(requested: str | None, *, served: str | None = None) -> tuple[int, str]:
    """The (id, login) of who is using the workspace, by its policy.

    `served` is the login a server (`crm serve`) vouches for. Otherwise it is the OS login, or
    `requested` (--user, $CRM_USER, config) when the workspace allows switching (the default) or
    the OS login is one of its admins. Someone new joins as a member unless an admin closed the
    workspace to newcomers (`crm users policy --closed`).
    """
    login = served or requested or os_login()
    if not served and requested and requested != os_login() and not get_setting(SWITCH_SETTING, True):
        me = User.get_or_none(User.login == os_login())
        if me is None or not me.active or me.role != "admin":
            raise ServiceError(
                f"this workspace signs you in as your login {os_login()!r}, not as {requested!r}; "
                "an admin can allow --user with `crm users policy --allow-switch`"
            )
    return ensure_user(login)


def ensure_user(login: str) -> tuple[int, str]:
    """The (id, login) of the user `login`, creating them on first use.

    The first user of an empty workspace becomes its admin; later ones join as members, unless the
    workspace is closed to newcomers.
    """
    existing = User.get_or_none(User.login == login)
    if existing is not None:
        if not existing.active:
            raise ServiceError(f"user {login!r} is deactivated in this workspace; ask an admin")
        return existing.id, existing.login
    if get_setting(JOIN_SETTING, "open") != "open" and User.select().exists():
        raise ServiceError(f"{login!r} is not a user of this workspace; an admin adds you with `crm users add {login}`")
    values = validate(UserIn, {"login": login, "name": display_name(login)}, "User")
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
