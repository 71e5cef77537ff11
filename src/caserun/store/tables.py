"""The schema, as SQLAlchemy Core tables. Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite too)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")
Time = UTCDateTime()

project = Table(
    "project",
    metadata,
    Column("id", Id, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Time, nullable=False),
    # per-project switches, e.g. {"auto_link_defects": true, "flaky_window": 30}
    Column("settings", JSON(none_as_null=True)),
)

token = Table(
    "token",
    metadata,
    Column("id", Id, primary_key=True),
    # NULL project: an instance-wide token (instance admin)
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("last_used_at", Time),
    Column("revoked_at", Time),
)

login_code = Table(
    "login_code",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("token_id", Id, ForeignKey("token.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False),
    Column("used_at", Time),
)

web_session = Table(
    "web_session",
    metadata,
    Column("id", Id, primary_key=True),
    Column("session_hash", String(64), nullable=False, unique=True),
    Column("token_id", Id, ForeignKey("token.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time, nullable=False),
)

launch = Table(
    "launch",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("environment", String(100)),
    Column("branch", String(200)),
    Column("commit_sha", String(64)),
    Column("build_url", String(1000)),
    Column("attributes", JSON(none_as_null=True)),
    Column("retry_of_id", Id, ForeignKey("launch.id", ondelete="SET NULL")),
    Column("idempotency_key", String(128)),
    Column("started_at", Time, nullable=False),
    Column("finished_at", Time),
    Column("created_at", Time, nullable=False),
    # summary of final attempts, kept up to date by every write to the launch
    Column("total", Integer, nullable=False, default=0),
    Column("passed", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("blocked", Integer, nullable=False, default=0),
    Column("running", Integer, nullable=False, default=0),
    Column("duration_ms", BigInteger, nullable=False, default=0),
    # archived launches leave the default lists; kept ones are spared by retention
    Column("archived_at", Time),
    Column("kept", Boolean, nullable=False, default=False, server_default=false()),
    # manual launches: who works through them
    Column("assignee", String(200)),
    # sha256 of what created the launch, to refuse an Idempotency-Key reused for another request
    Column("request_hash", String(64)),
    UniqueConstraint("project_id", "idempotency_key", name="uq_launch_idempotency"),
    Index("ix_launch_project_created", "project_id", "created_at"),
    Index("ix_launch_baseline", "project_id", "branch", "environment", "created_at"),
)

test_case = Table(
    "test_case",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("scheme", Integer, nullable=False),
    Column("suite", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("parameters", Text, nullable=False),
    Column("full_name", Text, nullable=False),
    Column("file", Text),
    Column("line", Integer),
    Column("created_at", Time, nullable=False),
    # a renamed or merged test points at the test that now holds its history
    Column("alias_of_id", Id, ForeignKey("test_case.id", ondelete="SET NULL")),
    # what a person wrote about the test; imports never touch these
    Column("description", Text),
    Column("preconditions", Text),
    Column("steps", JSON(none_as_null=True)),  # [{"action": ..., "expected": ...}, ...]
    Column("priority", String(16)),  # critical, high, medium, low
    Column("tags", JSON(none_as_null=True)),  # ["smoke", ...]
    Column("lifecycle", String(16)),  # draft, active, archived; NULL = active
    Column("definition_updated_at", Time),
    UniqueConstraint("project_id", "key", name="uq_test_case_project_key"),
)

case_run = Table(
    "case_run",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("launch_id", Id, ForeignKey("launch.id", ondelete="CASCADE"), nullable=False),
    Column("test_case_id", Id, ForeignKey("test_case.id", ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    # the last attempt of its test in its launch: the test's result there
    Column("is_final", Boolean, nullable=False),
    Column("retry_of_id", Id, ForeignKey("case_run.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("passed_on_retry", Boolean, nullable=False, default=False),
    Column("started_at", Time, nullable=False),
    Column("finished_at", Time),
    Column("duration_ms", BigInteger),
    Column("failure_type", String(16)),
    Column("failure_exception", Text),
    Column("failure_message", Text),
    Column("stack_trace", Text),
    Column("metadata", JSON(none_as_null=True)),
    Column("warnings", JSON(none_as_null=True)),
    Column("client_id", String(128)),
    # failure analysis, filled at ingest for failed runs
    Column("signature", String(64)),
    Column("pattern_id", Id, ForeignKey("failure_pattern.id", ondelete="SET NULL")),
    Column("new_failure", Boolean),
    #: likely_flaky or likely_real, for failed final attempts
    Column("verdict", String(16)),
    # manual execution: [{"status": passed|failed|skipped|not_run, "actual": ...}] per step, and who ran it
    Column("step_results", JSON(none_as_null=True)),
    Column("executed_by", String(200)),
    UniqueConstraint("launch_id", "test_case_id", "attempt", name="uq_case_run_attempt"),
    UniqueConstraint("launch_id", "client_id", name="uq_case_run_client_id"),
    Index("ix_case_run_history", "test_case_id", "started_at"),
    Index("ix_case_run_launch_status", "launch_id", "status"),
    Index("ix_case_run_pattern", "pattern_id", "started_at"),
    # deleting launches checks this self-reference for every deleted row
    Index("ix_case_run_retry_of", "retry_of_id"),
)

case_run_log = Table(
    "case_run_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_run_id", Id, ForeignKey("case_run.id", ondelete="CASCADE"), nullable=False),
    Column("stream", String(16), nullable=False),
    Column("content", Text, nullable=False),
    UniqueConstraint("case_run_id", "stream", name="uq_case_run_log_stream"),
)

blob = Table(
    "blob",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Time, nullable=False),
)

attachment = Table(
    "attachment",
    metadata,
    Column("id", Id, primary_key=True),
    Column("case_run_id", Id, ForeignKey("case_run.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(500), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("sha256", String(64), ForeignKey("blob.sha256"), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
)


test_stats = Table(
    "test_stats",
    metadata,
    Column("test_case_id", Id, ForeignKey("test_case.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("runs", Integer, nullable=False, default=0),
    Column("passed", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("blocked", Integer, nullable=False, default=0),
    Column("passed_on_retry", Integer, nullable=False, default=0),
    Column("flips", Integer, nullable=False, default=0),
    Column("last_status", String(16)),
    Column("last_run_at", Time),
    Column("last_pass_at", Time),
    Column("last_failure_at", Time),
    #: first failed run of the current failing streak (NULL when the last result passed)
    Column("streak_run_id", Id, ForeignKey("case_run.id", ondelete="SET NULL")),
    Column("streak_length", Integer, nullable=False, default=0),
    #: the last results, newest last: [[status, passed_on_retry, launch_id, commit, duration_ms], …]
    Column("recent", JSON(none_as_null=True)),
    Column("flaky_score", Integer, nullable=False, default=0),
    Column("updated_at", Time, nullable=False),
    Index("ix_test_stats_flaky", "project_id", "flaky_score"),
    Index("ix_test_stats_streak_run", "streak_run_id"),
)

failure_pattern = Table(
    "failure_pattern",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("exception", Text),
    #: the normalised message and frames the signature was computed from
    Column("template", Text, nullable=False),
    # no foreign key: case_run already points here, and a cycle would break table ordering
    Column("example_case_run_id", Id),
    Column("first_seen", Time, nullable=False),
    Column("last_seen", Time, nullable=False),
    Column("count", Integer, nullable=False, default=0),
    Column("defect_id", Id, ForeignKey("defect.id", ondelete="SET NULL")),
    UniqueConstraint("project_id", "signature", name="uq_failure_pattern_signature"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("test_case_id", Id, ForeignKey("test_case.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("removed_at", Time),
    Index("ix_quarantine_project", "project_id", "test_case_id"),
)

defect = Table(
    "defect",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(500), nullable=False),
    Column("description", Text),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assignee", String(200)),
    Column("external_url", String(1000)),
    Column("environment", String(100)),
    Column("launch_id", Id, ForeignKey("launch.id", ondelete="SET NULL")),
    #: a resolved or closed defect whose pattern failed again
    Column("reopen_suggested", Boolean, nullable=False, default=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Index("ix_defect_project_status", "project_id", "status"),
)

defect_link = Table(
    "defect_link",
    metadata,
    Column("defect_id", Id, ForeignKey("defect.id", ondelete="CASCADE"), primary_key=True),
    Column("case_run_id", Id, ForeignKey("case_run.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("created_at", Time, nullable=False),
    Column("created_by", String(200), nullable=False),
    #: manual, suggested-and-accepted, or automatic
    Column("origin", String(16), nullable=False),
)

status_change = Table(
    "status_change",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
    Column("case_run_id", Id, ForeignKey("case_run.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("at", Time, nullable=False),
    Column("old_status", String(16), nullable=False),
    Column("new_status", String(16), nullable=False),
    Column("comment", Text, nullable=False),
)


share_link = Table(
    "share_link",
    metadata,
    # a read-only link to one launch: only the hash of its secret is kept
    Column("id", Id, primary_key=True),
    Column("launch_id", Id, ForeignKey("launch.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("password_hash", String(200)),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Time, nullable=False),
    Column("expires_at", Time),
    Column("revoked_at", Time),
    Column("view_count", Integer, nullable=False, default=0, server_default="0"),
    Column("last_viewed_at", Time),
)

signin_failure = Table(
    "signin_failure",
    metadata,
    # failed sign-ins per client (IP), for rate limiting across server processes
    Column("id", Id, primary_key=True),
    Column("client", String(128), nullable=False),
    Column("at", Time, nullable=False),
    Index("ix_signin_failure_client_at", "client", "at"),
)


webhook = Table(
    "webhook",
    metadata,
    Column("id", Id, primary_key=True),
    Column("project_id", Id, ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),  # HMAC key for the signature header
    Column("events", JSON, nullable=False),  # ["launch.finished", "pattern.new", "test.flaky", "defect.reopen"]
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Time, nullable=False),
)

webhook_delivery = Table(
    "webhook_delivery",
    metadata,
    # one row per event per webhook; the sender retries it with backoff until delivered or given up
    Column("id", Id, primary_key=True),
    Column("webhook_id", Id, ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", Time),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Time, nullable=False),
    Column("delivered_at", Time),
    Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    Index("ix_webhook_delivery_webhook", "webhook_id", "created_at"),
)

idempotency_record = Table(
    "idempotency_record",
    metadata,
    # the answer to a create request sent with an Idempotency-Key, replayed when the same
    # caller sends the same request again (routes without a key of their own)
    Column("id", Id, primary_key=True),
    Column("caller", String(64), nullable=False),  # sha256 of the credentials
    Column("key", String(128), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),  # NULL while the first request is being answered
    Column("content_type", String(200)),
    Column("body", Text),
    Column("created_at", Time, nullable=False),
    UniqueConstraint("caller", "key", name="uq_idempotency_record_caller_key"),
    Index("ix_idempotency_record_created", "created_at"),
)
