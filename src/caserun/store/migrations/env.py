"""Alembic environment: runs on the connection the caller passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from caserun.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via caserun.store.migrate
    raise RuntimeError("run migrations through caserun.store.migrate")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
