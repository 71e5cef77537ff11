"""test case definitions, manual execution, request fingerprints, webhooks, delete indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    # plain ADD COLUMN (no batch table rebuild): cheap on a million case runs, and never a
    # DROP TABLE whose implicit delete could cascade on SQLite
    op.add_column("test_case", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("test_case", sa.Column("preconditions", sa.Text(), nullable=True))
    op.add_column("test_case", sa.Column("steps", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("test_case", sa.Column("priority", sa.String(length=16), nullable=True))
    op.add_column("test_case", sa.Column("tags", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("test_case", sa.Column("lifecycle", sa.String(length=16), nullable=True))
    op.add_column("test_case", sa.Column("definition_updated_at", Time, nullable=True))
    op.add_column("launch", sa.Column("assignee", sa.String(length=200), nullable=True))
    op.add_column("launch", sa.Column("request_hash", sa.String(length=64), nullable=True))
    op.add_column("case_run", sa.Column("step_results", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("case_run", sa.Column("executed_by", sa.String(length=200), nullable=True))
    op.create_index("ix_case_run_retry_of", "case_run", ["retry_of_id"], unique=False)
    op.create_index("ix_test_stats_streak_run", "test_stats", ["streak_run_id"], unique=False)
    op.create_table(
        "webhook",
        sa.Column("id", Id, nullable=False),
        sa.Column("project_id", Id, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_webhook_project_id_project"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook")),
    )
    op.create_index(op.f("ix_webhook_project_id"), "webhook", ["project_id"], unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", Id, nullable=False),
        sa.Column("webhook_id", Id, nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", Time, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("delivered_at", Time, nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"], ["webhook.id"], name=op.f("fk_webhook_delivery_webhook_id_webhook"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_webhook_delivery_webhook", "webhook_delivery", ["webhook_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_webhook", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_project_id"), table_name="webhook")
    op.drop_table("webhook")
    op.drop_index("ix_test_stats_streak_run", table_name="test_stats")
    op.drop_index("ix_case_run_retry_of", table_name="case_run")
    with op.batch_alter_table("case_run") as batch:
        batch.drop_column("executed_by")
        batch.drop_column("step_results")
    with op.batch_alter_table("launch") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("assignee")
    with op.batch_alter_table("test_case") as batch:
        for name in ("definition_updated_at", "lifecycle", "tags", "priority", "steps", "preconditions", "description"):
            batch.drop_column(name)
