"""Apply and check schema migrations (Alembic scripts shipped inside the package)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from caserun.store.tables import metadata

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call on every start.

    On SQLite, foreign keys are switched off while migrations run (Alembic's advice): a
    migration that rebuilds a table drops the old one, and with foreign keys on that drop
    deletes its rows first and cascades into every table that references it. The
    references are checked once the migrations are done; a violation stops the upgrade.
    """
    config = _config()
    with engine.connect().execution_options(caserun_write=True) as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, or SQLite ignores it
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken references, first: {broken[0]}")
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def pending_differences(engine: Engine) -> list[object]:
    """Differences between the tables in code and the migrated database (empty = in sync)."""
    config = _config()
    script = ScriptDirectory.from_config(config)
    with engine.connect() as conn, EnvironmentContext(config, script):
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def revision(engine: Engine, message: str) -> None:  # pragma: no cover - developer tool
    """Autogenerate a new migration script (``python -m caserun.store.migrate MESSAGE``)."""
    config = _config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":  # pragma: no cover
    import sys

    from caserun.store.engine import make_engine

    revision(make_engine(sys.argv[2] if len(sys.argv) > 2 else "sqlite:///:memory:"), sys.argv[1])
