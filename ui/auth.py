"""Logins and roles for ``citeqa ui``: who may ask, and who may also add and delete articles (admins).

Logins come from ``--auth user:password`` (one user, who is the admin) or a password file (``--auth-file`` or
the ``ui.auth_file`` setting) with one line per user::

    # user:password[:role]   role is "admin" or "user" (the default)
    alice:pbkdf2_sha256$600000$3f9c...$8a1e...:admin
    bob:correct horse battery staple

A password may be stored as a hash made by ``citeqa ui --hash-password`` (PBKDF2-SHA256). ``ui.admins`` in the
config file names more admins. Without logins, the one local user is the admin when the app is bound to a
loopback address; bound to any other address, nobody is (anyone who can reach the port may only ask).

Example::

    access = load_access(settings, auth=None, auth_file=Path("users.txt"), host="0.0.0.0")
    access.is_admin("alice")
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa import ConfigError, Settings

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 600_000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ROLES = ("admin", "user")


def hash_password(password: str, *, iterations: int = HASH_ITERATIONS, salt: str | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` of ``password``, for the password file."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), iterations)
    return f"{HASH_SCHEME}${iterations}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored`` (a hash from ``hash_password`` or a plain password)."""
    if stored.startswith(HASH_SCHEME + "$"):
        try:
            _, iterations, salt, hexdigest = stored.split("$")
            digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt.encode("ascii"), int(iterations))
        except ValueError:
            return False
        return hmac.compare_digest(digest.hex(), hexdigest)
    return hmac.compare_digest(stored.encode("utf-8"), password.encode("utf-8"))


@dataclass(frozen=True)
class Access:
    """Who may log in and who is an admin.

    Args:
        passwords: user → stored password (plain or hashed); empty means no login is required.
        admins: users who may add and delete articles.
        anonymous_admin: without logins, whether the (single, local) user is an admin.
    """

    passwords: dict[str, str] = field(default_factory=dict)
    admins: frozenset[str] = frozenset()
    anonymous_admin: bool = True

    @property
    def login_required(self) -> bool:
        """True when users must log in."""
        return bool(self.passwords)

    def is_admin(self, user: str | None) -> bool:
        """Whether ``user`` (None: not logged in) may add and delete articles."""
        if not self.login_required:
            return self.anonymous_admin
        return user is not None and user in self.passwords and user in self.admins

    def check(self, user: str, password: str) -> bool:
        """The login check Gradio calls: a known user with the right password."""
        stored = self.passwords.get(user)
        return stored is not None and check_password(stored, password)

    def gradio_auth(self) -> Callable[[str, str], bool] | None:
        """What ``Blocks.launch(auth=...)`` takes: the login check, or None when no login is required."""
        return self.check if self.login_required else None


def read_password_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """(user → stored password, admins) from a password file.

    Raises:
        ConfigError: the file cannot be read, or a line is not ``user:password[:role]``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the password file {path}: {exc}") from None
    passwords: dict[str, str] = {}
    admins: set[str] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, rest = line.partition(":")
        role = "user"
        secret, _, maybe_role = rest.rpartition(":")
        if maybe_role in ROLES and secret:
            rest, role = secret, maybe_role
        if not sep or not user.strip() or not rest:
            raise ConfigError(f"{path}, line {n}: expected user:password[:admin]")
        user = user.strip()
        if user in passwords:
            raise ConfigError(f"{path}, line {n}: user {user!r} appears twice")
        passwords[user] = rest
        if role == "admin":
            admins.add(user)
    if not passwords:
        raise ConfigError(f"the password file {path} names no user")
    return passwords, admins


def parse_auth(value: str | tuple[str, str] | None) -> tuple[str, str] | None:
    """``"user:password"`` → ``("user", "password")``; None stays None.

    Raises:
        ConfigError: no colon, or an empty user or password.
    """
    if value is None or isinstance(value, tuple):
        return value
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("auth must look like user:password")
    return user, password


def load_access(
    settings: Settings,
    *,
    auth: str | tuple[str, str] | None = None,
    auth_file: Path | None = None,
    host: str = "127.0.0.1",
) -> Access:
    """Logins and roles from ``auth`` (one user, the admin), the password file and ``ui.admins``.

    Raises:
        ConfigError: a malformed ``auth`` or password file, or an admin named who cannot log in.
    """
    passwords: dict[str, str] = {}
    admins = set(settings.ui.admins)
    path = auth_file or settings.ui.auth_file
    if path is not None:
        passwords, file_admins = read_password_file(Path(path).expanduser())
        admins |= file_admins
    single = parse_auth(auth)
    if single is not None:
        user, password = single
        passwords[user] = password
        if path is None:  # one-user setup: that user runs the app
            admins.add(user)
    unknown = sorted(admins - passwords.keys()) if passwords else []
    if unknown:
        raise ConfigError(f"ui.admins names users who cannot log in: {', '.join(unknown)}")
    return Access(passwords, frozenset(admins), anonymous_admin=host in LOOPBACK_HOSTS)
