"""Users and API keys: ``aie user add NAME`` prints a key once; requests send ``Authorization: Bearer <key>``.

Only a SHA-256 hash of each key is stored, so a copy of the database does not hand out keys.
Requests without a key are anonymous and see public documents only.

Roles (``aie user add NAME --role ...``, default ``reader``):

=========  ===========================================================================
role       may
=========  ===========================================================================
reader     ask, upload and delete private documents of their own, rate answers
editor     also publish public documents (what anonymous callers are answered from)
admin      also delete anyone's documents; no per-caller quota
=========  ===========================================================================

Example::

    user, key = create_user(db, "ada", role="editor")   # key looks like "aie_3kT9...", shown once
    authenticate(db, key).can_publish
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import psycopg

from capstone.db import Database

__all__ = [
    "ROLES",
    "User",
    "Forbidden",
    "UserExists",
    "InvalidName",
    "InvalidRole",
    "create_user",
    "authenticate",
    "hash_key",
    "KEY_PREFIX",
]

KEY_PREFIX = "aie_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


ROLES = ("admin", "editor", "reader")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str = "reader"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_publish(self) -> bool:
        """Editors and admins may make documents public."""
        return self.role in ("admin", "editor")


class UserExists(ValueError):
    """A user with that name already exists."""


class Forbidden(PermissionError):
    """The caller is known but its role does not allow this (HTTP 403); the message says what would."""


class InvalidRole(ValueError):
    """The role is not admin, editor or reader."""


class InvalidName(ValueError):
    """The user name is not 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)."""


def hash_key(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_user(db: Database, name: str, role: str = "reader") -> tuple[User, str]:
    """Create ``name`` with ``role`` and its first API key; returns the user and the key (shown only now)."""
    if role not in ROLES:
        raise InvalidRole(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidName(
            f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    try:
        with db.transaction() as conn:
            user_id = conn.execute(
                "INSERT INTO users (name, role) VALUES (%s, %s) RETURNING id", (name, role)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO api_keys (user_id, key_hash, prefix) VALUES (%s, %s, %s)",
                (user_id, hash_key(key), key[:8]),
            )
    except psycopg.errors.UniqueViolation:
        raise UserExists(f"user {name!r} already exists") from None
    return User(user_id, name, role), key


def authenticate(db: Database, key: str) -> User | None:
    """The user owning ``key``, or None for an unknown key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    with db.connection() as conn:
        row = conn.execute(
            "SELECT u.id, u.name, u.role FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = %s",
            (hash_key(key),),
        ).fetchone()
    return User(*row) if row else None
