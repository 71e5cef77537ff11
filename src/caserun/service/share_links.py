"""Share links: read-only links to one launch for people without an account.

A link's secret (``crs_…``) is shown once; only its sha256 is stored, with a short
prefix to recognise it in lists. A link expires (1–365 days), can be revoked, counts its
views, and may carry a password, stored as an scrypt hash (``hashlib.scrypt``, salted).

Whatever is wrong — an unknown, expired or revoked link, or a wrong password — the
visitor learns nothing more than "not available" (:class:`ShareUnavailable`, a 404).
Wrong passwords are limited per link and visitor, and per link overall
(:class:`TooManyAttempts`, 429), counted in the database so every server process agrees.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, RowMapping

from caserun.domain.model import Role
from caserun.errors import CaserunError, InvalidInput, NotFound
from caserun.service.auth import Principal, actor_name
from caserun.service.views import CaseRunRow, LaunchView
from caserun.store import case_runs, exports, launches, projects, share_links
from caserun.store.case_runs import CaseRunFilter
from caserun.store.engine import Database

LINK_PREFIX = "crs_"
MAX_DAYS = 365
DEFAULT_DAYS = 7
PASSWORD_MIN, PASSWORD_MAX = 6, 200
#: wrong passwords allowed per visitor and link, and per link from everyone, in the window
ATTEMPTS_PER_VISITOR = 5
ATTEMPTS_PER_LINK = 50
ATTEMPT_WINDOW = timedelta(minutes=15)
RUNS_PER_PAGE = 100
FAILURES_SHOWN = 50
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MANAGE_ROLE = Role.MAINTAINER


class ShareUnavailable(NotFound):
    """Unknown, expired or revoked link, or a wrong password: the same answer for all."""

    def __init__(self) -> None:
        super().__init__("this link is not available")


class TooManyAttempts(CaserunError):
    code = "rate_limited"
    status = 429


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


_DUMMY_HASH = hash_password("not a password", b"0" * 16)


@dataclass(frozen=True, slots=True)
class ShareLinkView:
    id: int
    launch_id: int
    prefix: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    view_count: int
    last_viewed_at: datetime | None
    has_password: bool

    @property
    def state(self) -> str:
        """active, expired or revoked."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            return "expired"
        return "active"


@dataclass(frozen=True, slots=True)
class CreatedShareLink:
    link: ShareLinkView
    #: the secret, shown this once
    token: str
    url: str


def _view(row: RowMapping) -> ShareLinkView:
    return ShareLinkView(
        id=int(row["id"]),
        launch_id=int(row["launch_id"]),
        prefix=str(row["prefix"]),
        created_by=str(row["created_by"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        view_count=int(row["view_count"]),
        last_viewed_at=row["last_viewed_at"],
        has_password=row["password_hash"] is not None,
    )


def share_url(base_url: str, token: str) -> str:
    return f"{base_url}/s/{token}"


def _launch(conn: Connection, principal: Principal, launch_id: int, needed: Role) -> RowMapping:
    row = launches.get(conn, launch_id)
    if row is None:
        raise NotFound(f"launch {launch_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def create(
    db: Database,
    principal: Principal,
    launch_id: int,
    *,
    expires_in_days: int = DEFAULT_DAYS,
    password: str | None = None,
    base_url: str,
) -> CreatedShareLink:
    """A new link to the launch (maintainer); the returned token is never shown again."""
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidInput(f"expires_in_days must be between 1 and {MAX_DAYS}")
    if password is not None and password != "" and not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"a share-link password has {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    token = LINK_PREFIX + secrets.token_urlsafe(24)
    now = datetime.now(UTC)
    password_hash = hash_password(password) if password else None
    with db.write() as conn:
        _launch(conn, principal, launch_id, MANAGE_ROLE)
        link_id = share_links.insert_link(
            conn,
            launch_id=launch_id,
            token_hash=_hash(token),
            prefix=token[:10],
            password_hash=password_hash,
            created_by=actor_name(conn, principal),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days),
            view_count=0,
        )
        row = share_links.by_id(conn, link_id)
        assert row is not None
    return CreatedShareLink(link=_view(row), token=token, url=share_url(base_url, token))


def list_links(db: Database, principal: Principal, launch_id: int) -> list[ShareLinkView]:
    with db.read() as conn:
        _launch(conn, principal, launch_id, MANAGE_ROLE)
        return [_view(r) for r in share_links.for_launch(conn, launch_id)]


def revoke(db: Database, principal: Principal, link_id: int) -> ShareLinkView:
    """Revoke a link (maintainer of its launch's project); revoking twice changes nothing."""
    with db.write() as conn:
        row = share_links.by_id(conn, link_id)
        if row is None:
            raise NotFound(f"share link {link_id} not found")
        _launch(conn, principal, int(row["launch_id"]), MANAGE_ROLE)
        share_links.revoke(conn, link_id, datetime.now(UTC))
        fresh = share_links.by_id(conn, link_id)
        assert fresh is not None
        return _view(fresh)


# -- the public side ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareAccess:
    """A link that works right now. ``unlock_secret`` binds a "password given" cookie to
    this link and password (never sent to the browser)."""

    link_id: int
    launch_id: int
    needs_password: bool
    unlock_secret: str


def _usable(row: RowMapping | None, now: datetime) -> RowMapping:
    if row is None or row["revoked_at"] is not None:
        raise ShareUnavailable()
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise ShareUnavailable()
    return row


def _access(row: RowMapping) -> ShareAccess:
    return ShareAccess(
        link_id=int(row["id"]),
        launch_id=int(row["launch_id"]),
        needs_password=row["password_hash"] is not None,
        unlock_secret=f"{row['id']}:{row['token_hash']}:{row['password_hash'] or ''}",
    )


def resolve(db: Database, token: str) -> ShareAccess:
    """The link behind ``token`` if it works now; :class:`ShareUnavailable` otherwise."""
    with db.read() as conn:
        return _access(_usable(share_links.by_hash(conn, _hash(token)), datetime.now(UTC)))


def unlock(db: Database, token: str, password: str, visitor: str) -> ShareAccess:
    """Check a password for the link. A wrong one is :class:`ShareUnavailable` (as is a
    link that does not work) and counts against the visitor and the link."""
    now = datetime.now(UTC)
    since = now - ATTEMPT_WINDOW
    with db.read() as conn:
        row = share_links.by_hash(conn, _hash(token))
        try:
            row = _usable(row, now)
        except ShareUnavailable:
            verify_password(password, _DUMMY_HASH)  # the same work as for a real link
            raise
        link_key, visitor_key = f"share:{row['id']}", f"share:{row['id']}:{visitor}"
        if (
            share_links.failures_since(conn, visitor_key, since) >= ATTEMPTS_PER_VISITOR
            or share_links.failures_since(conn, link_key, since) >= ATTEMPTS_PER_LINK
        ):
            raise TooManyAttempts(f"too many wrong passwords; try again in {ATTEMPT_WINDOW.seconds // 60} minutes")
    access = _access(row)
    if not access.needs_password or verify_password(password, str(row["password_hash"])):
        return access
    with db.write() as conn:
        for key in (visitor_key, link_key):
            share_links.record_failure(conn, key, now, forget_before=since)
    raise ShareUnavailable()


@dataclass(frozen=True, slots=True)
class SharedFailure:
    full_name: str
    exception: str | None
    message: str | None
    trace: str | None


@dataclass(frozen=True, slots=True)
class SharedLaunch:
    launch: LaunchView
    runs: list[CaseRunRow]
    next: str | None
    failures: list[SharedFailure]


def view(db: Database, access: ShareAccess, *, cursor: str | None = None) -> SharedLaunch:
    """What a shared link shows: the launch's summary, a page of its case runs and its
    first failures with traces. Counts a view (first page only)."""
    now = datetime.now(UTC)
    with db.write() as conn:
        row = _usable(share_links.by_id(conn, access.link_id), now)
        launch = launches.get(conn, int(row["launch_id"]))
        if launch is None:
            raise ShareUnavailable()
        project = projects.by_id(conn, int(launch["project_id"]))
        assert project is not None
        page = case_runs.list_page(conn, int(launch["id"]), CaseRunFilter(), cursor=cursor, limit=RUNS_PER_PAGE)
        failed = exports.failed_finals(conn, int(launch["id"]), FAILURES_SHOWN)
        if cursor is None:
            share_links.count_view(conn, access.link_id, now)
    return SharedLaunch(
        launch=LaunchView.from_row(launch, str(project["key"]), ""),
        runs=[CaseRunRow.from_row(r) for r in page.rows],
        next=page.next,
        failures=[
            SharedFailure(
                full_name=str(f["full_name"]),
                exception=f["failure_exception"],
                message=f["failure_message"],
                trace=f["stack_trace"],
            )
            for f in failed
        ],
    )
