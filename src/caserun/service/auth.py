"""Tokens, roles and sign-in. Tokens are high-entropy, shown once and stored as sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from caserun.domain.model import Role
from caserun.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from caserun.store import projects, tokens
from caserun.store.engine import Database

TOKEN_PREFIX = "crn_"  # noqa: S105 - a visible prefix, not a secret
LOGIN_CODE_MINUTES = 60


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


def create_token(
    db: Database,
    *,
    project_key: str | None,
    role: Role,
    name: str | None = None,
    expires_days: int | None = None,
) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    with db.write() as conn:
        project_id = None
        if project_key is not None:
            row = projects.by_key(conn, project_key)
            if row is None:
                raise NotFound(f"project {project_key!r} not found")
            project_id = int(row["id"])
        token_id = tokens.create(
            conn,
            project_id=project_id,
            name=name or f"{role.value} token",
            role=role.value,
            token_hash=_hash(secret),
            prefix=secret[:8],
            expires_at=expires,
        )
    return IssuedToken(id=token_id, token=secret, role=role, project_key=project_key)


def authenticate(db: Database, secret: str | None) -> Principal:
    if not secret:
        raise Unauthenticated("missing token")
    now = datetime.now(UTC)
    with db.read() as conn:
        row = tokens.by_hash(conn, _hash(secret))
        if row is None or row["revoked_at"] is not None or (row["expires_at"] is not None and row["expires_at"] < now):
            raise Unauthenticated("invalid token")
        principal = _principal(row)
        stale = row["last_used_at"] is None or now - row["last_used_at"] > timedelta(minutes=1)
    if stale:
        with db.write() as conn:
            tokens.touch(conn, principal.token_id, now)
    return principal


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
    if row is None or row["revoked_at"] is not None:
        raise Unauthenticated("session expired")
    return _principal(row)


def sign_out(db: Database, session: str) -> None:
    with db.write() as conn:
        tokens.delete_session(conn, _hash(session))


def actor_name(conn: Connection, principal: Principal) -> str:
    """Who audit rows name for this caller: its token's name."""
    row = tokens.by_id(conn, principal.token_id)
    return str(row["name"]) if row is not None else f"token {principal.token_id}"


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}") from None
