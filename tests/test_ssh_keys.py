"""SSH keys: one user per key, stored in OpenSSH form, logged, and only active users sign in."""

from __future__ import annotations

import asyncssh
import pytest

from crm_tui.models import Event, User, UserKey
from crm_tui.services import ssh_keys
from crm_tui.services.context import Context
from crm_tui.services.errors import ServiceError
from crm_tui.services.permissions import PermissionDenied
from crm_tui.services.users import ensure_user
from crm_tui.services.workspace import Workspace


def _public(comment: str = "alice@laptop", algorithm: str = "ssh-ed25519", **options: int) -> tuple[str, str]:
    key = asyncssh.generate_private_key(algorithm, comment=comment, **options)
    return key.export_public_key("openssh").decode(), key.get_fingerprint("sha256")


def _bob() -> Context:
    user_id, login = ensure_user("bob")  # the second user joins as a member
    return Context(user_id=user_id, login=login)


def test_add_key_stores_the_one_line_form_and_logs_it(workspace: Workspace) -> None:
    text, fingerprint = _public()
    info = ssh_keys.add_key(workspace.ctx, "alice", "\n  " + text + "\n")

    row = UserKey.get(UserKey.fingerprint == fingerprint)
    assert (row.user_id, row.key, row.name) == (workspace.ctx.user_id, text.strip(), "alice@laptop")
    assert (info.id, info.login, info.algorithm, info.fingerprint) == (row.id, "alice", "ssh-ed25519", fingerprint)
    event = Event.get(Event.kind == "user.key_added")
    assert (event.user_id, event.entity, event.record_id) == (workspace.ctx.user_id, "user", workspace.ctx.user_id)
    assert fingerprint in event.new
    assert ssh_keys.login_for_key(fingerprint) == "alice"


def test_a_key_given_name_wins_over_its_comment(workspace: Workspace) -> None:
    text, _ = _public()
    assert ssh_keys.add_key(workspace.ctx, "alice", text, name="work laptop").name == "work laptop"
    with pytest.raises(ServiceError, match="line break"):
        ssh_keys.add_key(workspace.ctx, "alice", _public()[0], name="two\nlines")


def test_a_key_belongs_to_one_user_only(workspace: Workspace) -> None:
    _bob()
    text, _ = _public()
    ssh_keys.add_key(workspace.ctx, "alice", text)
    with pytest.raises(ServiceError, match="already registered for user 'alice'"):
        ssh_keys.add_key(workspace.ctx, "bob", text)
    assert UserKey.select().count() == 1


def test_unknown_and_deactivated_users_get_no_key(workspace: Workspace) -> None:
    _bob()
    with pytest.raises(ServiceError, match="no user 'carol'"):
        ssh_keys.add_key(workspace.ctx, "carol", _public()[0])
    User.update(active=False).where(User.login == "bob").execute()
    with pytest.raises(ServiceError, match="deactivated"):
        ssh_keys.add_key(workspace.ctx, "bob", _public()[0])
    assert UserKey.select().count() == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("ssh-ed25519 not-base64 x", "not a public key"),
        ("hello", "not a public key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----", "private key"),
    ],
)
def test_what_is_not_a_public_key_is_refused(workspace: Workspace, text: str, message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        ssh_keys.add_key(workspace.ctx, "alice", text)
    assert UserKey.select().count() == 0


def test_weak_keys_are_refused(workspace: Workspace) -> None:
    with pytest.raises(ServiceError, match="1024 bits"):
        ssh_keys.add_key(workspace.ctx, "alice", _public(algorithm="ssh-rsa", key_size=1024)[0])
    assert ssh_keys.add_key(workspace.ctx, "alice", _public(algorithm="ssh-rsa", key_size=2048)[0]).algorithm == "ssh-rsa"


def test_a_deactivated_user_cannot_sign_in_with_a_key(workspace: Workspace) -> None:
    _bob()
    text, fingerprint = _public("bob@home")
    ssh_keys.add_key(workspace.ctx, "bob", text)
    assert ssh_keys.login_for_key(fingerprint) == "bob"
    User.update(active=False).where(User.login == "bob").execute()
    assert ssh_keys.login_for_key(fingerprint) is None
    assert ssh_keys.login_for_key("SHA256:nobody") is None


def test_keys_lists_by_user(workspace: Workspace) -> None:
    _bob()
    ssh_keys.add_key(workspace.ctx, "bob", _public("b1")[0])
    ssh_keys.add_key(workspace.ctx, "alice", _public("a1")[0])
    ssh_keys.add_key(workspace.ctx, "alice", _public("a2")[0])
    assert [(k.login, k.name) for k in ssh_keys.keys(login=None)] == [("alice", "a1"), ("alice", "a2"), ("bob", "b1")]
    assert [k.name for k in ssh_keys.keys("bob")] == ["b1"]
    with pytest.raises(ServiceError, match="no user 'carol'"):
        ssh_keys.keys("carol")


def test_remove_key_by_fingerprint_or_id(workspace: Workspace) -> None:
    first = ssh_keys.add_key(workspace.ctx, "alice", _public("one")[0])
    second = ssh_keys.add_key(workspace.ctx, "alice", _public("two")[0])

    assert ssh_keys.remove_key(workspace.ctx, first.fingerprint).name == "one"
    assert ssh_keys.remove_key(workspace.ctx, str(second.id)).name == "two"
    assert UserKey.select().count() == 0
    assert ssh_keys.login_for_key(first.fingerprint) is None
    removed = [e.record_id for e in Event.select().where(Event.kind == "user.key_removed")]
    assert removed == [workspace.ctx.user_id, workspace.ctx.user_id]
    with pytest.raises(ServiceError):
        ssh_keys.remove_key(workspace.ctx, first.fingerprint)
    with pytest.raises(ServiceError):
        ssh_keys.remove_key(workspace.ctx, 999)


def test_only_an_admin_manages_keys(workspace: Workspace) -> None:
    bob = _bob()
    alices = ssh_keys.add_key(workspace.ctx, "alice", _public()[0])
    bobs = ssh_keys.add_key(workspace.ctx, "bob", _public("bob")[0])
    for login in ("alice", "bob"):  # a member adds no key, not even their own: a key is a way in
        with pytest.raises(PermissionDenied):
            ssh_keys.add_key(bob, login, _public()[0])
    for key in (alices, bobs):
        with pytest.raises(PermissionDenied):
            ssh_keys.remove_key(bob, key.fingerprint)
    assert [k.id for k in ssh_keys.keys(login=None)] == [alices.id, bobs.id]
    assert not Event.select().where(Event.user == bob.user_id, Event.kind.startswith("user.key")).exists()
