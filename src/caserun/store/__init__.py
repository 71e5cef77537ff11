"""Store: SQLAlchemy Core tables, queries by aggregate, Alembic migrations, the blob store."""
