"""The public keys that sign users in through `crm serve --ssh`.

A key belongs to exactly one user (its SHA256 fingerprint is unique); the SSH server asks
`login_for_key` which user a presented key stands for, so the team needs no shell accounts. Only an
admin adds or removes keys (a key is a way in as its user); each change is logged on the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import IntegrityError

from crm_tui.models import User, UserKey
from crm_tui.services import permissions
from crm_tui.services.context import Context
from crm_tui.services.errors import NotFound, ServiceError
from crm_tui.services.unit import write
from crm_tui.services.users import by_login
from crm_tui.text import find_forbidden_character, safe_text

NAME_LENGTH = 60
MIN_RSA_BITS = 2048
_REFUSED_ALGORITHMS = {"ssh-dss": "DSA keys are obsolete (OpenSSH no longer accepts them); make an ed25519 key"}


@dataclass(frozen=True)
class KeyInfo:
    """One registered key, as the CLI lists it."""

    id: int
    login: str
    name: str
    algorithm: str
    fingerprint: str
    """`SHA256:...`, as `ssh-keygen -lf` prints it."""
    key: str
    """The OpenSSH one-line form (`ssh-ed25519 AAAA... comment`)."""
    created_at: datetime


def parse_key(public_key_text: str) -> tuple[str, str, str, str]:
    """Read one public key (OpenSSH line or RFC 4716 block) into (one-line form, fingerprint,
    algorithm, comment); refuse private keys, obsolete algorithms and short RSA keys."""
    import asyncssh  # only adding a key needs it (~150 ms to import); listing does not

    text = public_key_text.strip()
    if not text:
        raise ServiceError("the key is empty: give the contents of a .pub file")
    if "PRIVATE KEY" in text:
        raise ServiceError("that is a private key; give the public one (the .pub file) and keep the private key secret")
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError) as error:
        example = "'ssh-ed25519 AAAA... you@laptop'"
        raise ServiceError(f"not a public key ({error}): give one line like {example}") from error
    algorithm = key.get_algorithm()
    if algorithm in _REFUSED_ALGORITHMS:
        raise ServiceError(_REFUSED_ALGORITHMS[algorithm])
    bits = getattr(getattr(key, "pyca_key", None), "key_size", None)
    if algorithm == "ssh-rsa" and bits is not None and bits < MIN_RSA_BITS:
        raise ServiceError(f"this RSA key has only {bits} bits; use at least {MIN_RSA_BITS} (or an ed25519 key)")
    line = key.export_public_key("openssh").decode("ascii").strip()
    return line, key.get_fingerprint("sha256"), algorithm, safe_text(key.get_comment() or "")


def _user(login: str) -> Any:
    row = by_login(login)
    if not row.active:
        raise ServiceError(f"user {login!r} is deactivated; reactivate them before adding a key")
    return row


def _clean_name(name: str, comment: str) -> str:
    chosen = (name or "").strip() or comment
    problem = find_forbidden_character(chosen)
    if problem:
        raise ServiceError(f"the key name contains a {problem}")
    if len(chosen) > NAME_LENGTH:
        raise ServiceError(f"the key name is longer than {NAME_LENGTH} characters")
    return chosen


def add_key(ctx: Context, login: str, public_key_text: str, name: str = "") -> KeyInfo:
    """Register `public_key_text` as a way in for `login`; `name` defaults to the key's comment."""
    line, fingerprint, algorithm, comment = parse_key(public_key_text)
    label = _clean_name(name, comment)
    owner = _user(login)
    try:
        with write(ctx) as tx:
            permissions.require_admin(tx.access, "add SSH keys")  # a key is a way in as its user
            taken = UserKey.select(User.login).join(User).where(UserKey.fingerprint == fingerprint).scalar()
            if taken is not None:
                raise ServiceError(f"this key ({fingerprint}) is already registered for user {taken!r}")
            key_id = UserKey.insert(
                user=owner.id, name=label, key=line, fingerprint=fingerprint, created_at=tx.now
            ).execute()
            tx.log("user.key_added", "user", owner.id, field="keys",
                   new={"key_id": key_id, "name": label, "fingerprint": fingerprint})  # fmt: skip
    except IntegrityError as error:  # another process registered it between the check and the insert
        raise ServiceError(f"this key ({fingerprint}) is already registered") from error
    return KeyInfo(key_id, owner.login, label, algorithm, fingerprint, line, tx.now)


def _find(fingerprint_or_id: str | int) -> Any:
    query = UserKey.select(UserKey, User).join(User)
    text = str(fingerprint_or_id).strip()
    if isinstance(fingerprint_or_id, int) or text.isdigit():
        row = query.where(UserKey.id == int(text)).first()
        if row is None:
            raise NotFound("SSH key", int(text))
        return row
    wanted = text if text.startswith("SHA256:") else f"SHA256:{text}"
    row = query.where(UserKey.fingerprint == wanted).first()
    if row is None:
        raise ServiceError(f"no SSH key has the fingerprint {safe_text(wanted)}")
    return row


def remove_key(ctx: Context, fingerprint_or_id: str | int) -> KeyInfo:
    """Unregister a key, named by its id or its `SHA256:` fingerprint; returns what was removed.

    Sessions already open with the key keep running; new connections with it are refused.
    """
    with write(ctx) as tx:
        row = _find(fingerprint_or_id)
        permissions.require_admin(tx.access, "remove SSH keys")
        info = _info(row)
        UserKey.delete().where(UserKey.id == row.id).execute()
        tx.log("user.key_removed", "user", row.user.id, field="keys",
               old={"key_id": row.id, "name": row.name, "fingerprint": row.fingerprint})  # fmt: skip
    return info


def _info(row: Any) -> KeyInfo:
    algorithm = row.key.split(" ", 1)[0]
    return KeyInfo(row.id, row.user.login, row.name, algorithm, row.fingerprint, row.key, row.created_at)


def keys(login: str | None = None) -> list[KeyInfo]:
    """Every registered key (or `login`'s), by user then age."""
    query = UserKey.select(UserKey, User).join(User)
    if login is not None:
        by_login(login)  # an unknown login is an error, not an empty list
        query = query.where(User.login == login)
    return [_info(row) for row in query.order_by(User.login, UserKey.created_at, UserKey.id)]


def login_for_key(fingerprint: str) -> str | None:
    """The login of the active user the key with `fingerprint` belongs to, or None."""
    return (
        User.select(User.login)
        .join(UserKey)
        .where(UserKey.fingerprint == fingerprint, User.active == True)  # SQL: `is True` is no condition
        .scalar()
    )
