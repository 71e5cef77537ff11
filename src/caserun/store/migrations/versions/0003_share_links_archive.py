"""launch archive and keep flags, share links, sign-in failures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # plain ADD COLUMN: a batch "move and copy" of launch would, on SQLite, drop the old
    # table and cascade that delete into every case run
    op.add_column("launch", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("launch", sa.Column("kept", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "share_link",
        sa.Column("id", Id, nullable=False),
        sa.Column("launch_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["launch_id"], ["launch.id"], name=op.f("fk_share_link_launch_id_launch"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_share_link_token_hash")),
    )
    op.create_index(op.f("ix_share_link_launch_id"), "share_link", ["launch_id"], unique=False)
    op.create_table(
        "signin_failure",
        sa.Column("id", Id, nullable=False),
        sa.Column("client", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failure")),
    )
    op.create_index("ix_signin_failure_client_at", "signin_failure", ["client", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signin_failure_client_at", table_name="signin_failure")
    op.drop_table("signin_failure")
    op.drop_index(op.f("ix_share_link_launch_id"), table_name="share_link")
    op.drop_table("share_link")
    with op.batch_alter_table("launch") as batch:
        batch.drop_column("kept")
        batch.drop_column("archived_at")
