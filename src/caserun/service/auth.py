"""Tokens, roles and sign-in. Tokens are high-entropy, shown once and stored as sha256.

A token is named, may expire, records when it was last used (at most one write a minute
per token, whatever the request rate) and can be revoked; an expired or revoked token is
refused like a wrong one (401) and its web sessions end with it. Who manages tokens: an
instance admin every token; a project's maintainers and admins that project's tokens, up
to their own role. Failed sign-ins are counted per client in the database, so every server
process sharing it sees the same count (:func:`check_signin`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from caserun.domain.model import Role
from caserun.errors import CaserunError, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from caserun.store import projects, tokens
from caserun.store.engine import Database

TOKEN_PREFIX = "crn_"  # noqa: S105 - a visible prefix, not a secret
LOGIN_CODE_MINUTES = 60
#: a token's last use is written at most this often
TOUCH_INTERVAL = timedelta(minutes=1)
#: failed sign-ins allowed per client within SIGNIN_WINDOW before 429
SIGNIN_FAILURES = 10
SIGNIN_WINDOW = timedelta(minutes=15)
MAX_EXPIRES_DAYS = 3650


class SignInThrottled(CaserunError):
    """Too many failed sign-ins from one client; try again after ``retry_after`` seconds."""

    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {max(1, retry_after // 60)} minute(s)")
        self.retry_after = retry_after


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token with a role on one project, or on every project."""

    token_id: int
    role: Role
    project_id: int | None

    @property
    def instance_admin(self) -> bool:
        return self.project_id is None and self.role is Role.ADMIN

    def require(self, needed: Role, project_id: int | None) -> None:
        """Raise unless this principal may act with ``needed`` on ``project_id``."""
        if self.project_id is not None and project_id != self.project_id:
            # other projects are invisible, not merely forbidden
            raise NotFound("project not found")
        if not self.role.allows(needed):
            raise PermissionDenied(f"this action needs the {needed.value} role")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    token: str
    role: Role
    project_key: str | None


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as lists show it: never its secret or hash, only the first characters."""

    id: int
    name: str
    role: Role
    project_key: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"


def _view(row: object) -> TokenView:
    data = dict(row)  # type: ignore[call-overload]
    return TokenView(
        id=int(data["id"]),
        name=str(data["name"]),
        role=Role(data["role"]),
        project_key=data["project_key"],
        prefix=str(data["prefix"]),
        created_at=data["created_at"],
        expires_at=data["expires_at"],
        last_used_at=data["last_used_at"],
        revoked_at=data["revoked_at"],
    )


def _check_fields(name: str | None, expires_days: int | None) -> None:
    if name is not None and not (0 < len(name.strip()) <= 200):
        raise InvalidInput("a token name is 1–200 characters")
    if expires_days is not None and not (0 < expires_days <= MAX_EXPIRES_DAYS):
        raise InvalidInput(f"expires_days must be between 1 and {MAX_EXPIRES_DAYS}")


def create_token(
    db: Database,
    *,
    project_key: str | None,
    role: Role,
    name: str | None = None,
    expires_days: int | None = None,
    by: Principal | None = None,
) -> IssuedToken:
    """Issue a token. ``by`` is the caller when it comes through the API or the UI (its
    rights are checked); ``None`` is the operator at the database (CLI, first start)."""
    _check_fields(name, expires_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    with db.write() as conn:
        project_id = None
        if project_key is not None:
            row = projects.by_key(conn, project_key)
            if row is None:
                raise NotFound(f"project {project_key!r} not found")
            project_id = int(row["id"])
        if by is not None:
            _may_manage(by, project_id, role)
        token_id = tokens.create(
            conn,
            project_id=project_id,
            name=name.strip() if name else f"{role.value} token",
            role=role.value,
            token_hash=_hash(secret),
            prefix=secret[:8],
            expires_at=expires,
        )
    return IssuedToken(id=token_id, token=secret, role=role, project_key=project_key)


def _may_manage(by: Principal, project_id: int | None, role: Role) -> None:
    """Instance tokens are the instance admin's; a project's tokens its maintainers' and
    admins', up to their own role (a maintainer cannot mint or revoke an admin token)."""
    if by.instance_admin:
        return
    if project_id is None:
        raise PermissionDenied("instance tokens are managed by instance admins")
    by.require(Role.MAINTAINER, project_id)
    if not by.role.allows(role):
        raise PermissionDenied(f"a {by.role.value} cannot manage {role.value} tokens")


def list_tokens(db: Database, by: Principal | None, project_key: str | None = None) -> list[TokenView]:
    """Tokens of one project; without a project, an instance admin (or the operator,
    ``by=None``) sees every token and anyone else the tokens of their own project."""
    with db.read() as conn:
        project_id: int | None = None
        if project_key is not None:
            row = projects.by_key(conn, project_key)
            if row is None:
                raise NotFound(f"project {project_key!r} not found")
            project_id = int(row["id"])
        elif by is not None and not by.instance_admin:
            project_id = by.project_id
        if by is not None and not by.instance_admin:
            by.require(Role.MAINTAINER, project_id)
        return [_view(row) for row in tokens.listing(conn, project_id)]


def get_token(db: Database, token_id: int) -> TokenView:
    with db.read() as conn:
        row = tokens.listed(conn, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    return _view(row)


def revoke_token(db: Database, by: Principal | None, token_id: int) -> TokenView:
    """Revoke a token (idempotent) and end its web sessions at once."""
    with db.write() as conn:
        row = tokens.listed(conn, token_id)
        if row is None:
            raise NotFound(f"token {token_id} not found")
        view = _view(row)
        if by is not None:
            if not by.instance_admin and row["project_id"] != by.project_id:
                raise NotFound(f"token {token_id} not found")
            _may_manage(by, row["project_id"], view.role)
        tokens.revoke(conn, token_id, datetime.now(UTC))
        return _view(tokens.listed(conn, token_id))


def authenticate(db: Database, secret: str | None) -> Principal:
    if not secret:
        raise Unauthenticated("missing token")
    now = datetime.now(UTC)
    with db.read() as conn:
        row = tokens.by_hash(conn, _hash(secret))
        if row is None or not _usable(row, now):
            raise Unauthenticated("invalid token")
        principal = _principal(row)
        stale = row["last_used_at"] is None or now - row["last_used_at"] >= TOUCH_INTERVAL
    if stale:
        # guarded by the old value, so concurrent requests and processes write it once
        with db.write() as conn:
            tokens.touch(conn, principal.token_id, now, now - TOUCH_INTERVAL)
    return principal


def _usable(row: object, now: datetime) -> bool:
    data = dict(row)  # type: ignore[call-overload]
    return data["revoked_at"] is None and (data["expires_at"] is None or data["expires_at"] > now)


def _principal(row: object) -> Principal:
    data = dict(row)  # type: ignore[call-overload]
    return Principal(
        token_id=int(data["id"]),
        role=Role(data["role"]),
        project_id=int(data["project_id"]) if data["project_id"] is not None else None,
    )


def bootstrap(db: Database) -> str | None:
    """On a first start with no token at all: an instance admin token and a one-time login
    code for it. Returns the code (to build the login URL), or None when tokens exist."""
    with db.read() as conn:
        if tokens.count(conn) > 0:
            return None
    issued = create_token(db, project_key=None, role=Role.ADMIN, name="first admin")
    return create_login_code(db, issued.id)


def create_login_code(db: Database, token_id: int) -> str:
    code = secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + timedelta(minutes=LOGIN_CODE_MINUTES)
    with db.write() as conn:
        tokens.create_login_code(conn, token_id, _hash(code), expires)
    return code


def redeem_login_code(db: Database, code: str, session_days: int) -> str:
    """Exchange a one-time code for a web session; returns the session secret."""
    now = datetime.now(UTC)
    with db.write() as conn:
        token_id = tokens.use_login_code(conn, _hash(code), now)
        if token_id is None:
            raise Unauthenticated("this sign-in link was already used or has expired")
        return _new_session(conn, token_id, now, session_days)


def sign_in_with_token(db: Database, secret: str, session_days: int) -> str:
    principal = authenticate(db, secret)
    with db.write() as conn:
        return _new_session(conn, principal.token_id, datetime.now(UTC), session_days)


def _new_session(conn: Connection, token_id: int, now: datetime, session_days: int) -> str:
    session = secrets.token_urlsafe(32)
    tokens.create_session(
        conn,
        token_id,
        _hash(session),
        now + timedelta(days=session_days),
    )
    return session


def session_principal(db: Database, session: str | None) -> Principal:
    if not session:
        raise Unauthenticated("not signed in")
    now = datetime.now(UTC)
    with db.read() as conn:
        token_id = tokens.session_token(conn, _hash(session), now)
        row = tokens.by_id(conn, token_id) if token_id is not None else None
    if row is None or not _usable(row, now):
        raise Unauthenticated("session expired")
    return _principal(row)


def sign_out(db: Database, session: str) -> None:
    with db.write() as conn:
        tokens.delete_session(conn, _hash(session))


def actor_name(conn: Connection, principal: Principal) -> str:
    """Who audit rows name for this caller: its token's name."""
    row = tokens.by_id(conn, principal.token_id)
    return str(row["name"]) if row is not None else f"token {principal.token_id}"


def check_signin(db: Database, client: str) -> None:
    """Refuse (:class:`SignInThrottled`) a client with too many recent failed sign-ins;
    checked before the credentials, so a right guess during the lock-out does not help."""
    now = datetime.now(UTC)
    with db.read() as conn:
        failures, oldest = tokens.count_signin_failures(conn, client[:128], now - SIGNIN_WINDOW)
    if failures >= SIGNIN_FAILURES and oldest is not None:
        raise SignInThrottled(max(1, int((oldest + SIGNIN_WINDOW - now).total_seconds()) + 1))


def record_signin_failure(db: Database, client: str) -> None:
    now = datetime.now(UTC)
    with db.write() as conn:
        tokens.add_signin_failure(conn, client[:128], now, now - SIGNIN_WINDOW)


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}") from None
