"""Options several commands share, defined once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from caserun.settings import Settings

if TYPE_CHECKING:
    from caserun.store.engine import Database

DatabaseOpt = Annotated[
    str | None, typer.Option("--database", envvar="CASERUN_DATABASE_URL", help="SQLAlchemy database URL.")
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", envvar="CASERUN_DATA_DIR", help="Where the SQLite file and blobs live.")
]
UrlOpt = Annotated[str | None, typer.Option("--url", envvar="CASERUN_URL", help="The caserun server.")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="CASERUN_TOKEN", help="An API token.")]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="text or json.")]


def settings(database: str | None, data_dir: Path | None) -> Settings:
    return Settings.from_env(database_url=database, data_dir=data_dir)


@contextmanager
def open_database(cfg: Settings) -> Iterator[Database]:
    """The database the server would use, migrated to the current schema; closed after.
    (Alembic and the store are imported here: commands that talk to a server never need them.)"""
    from caserun.store import migrate
    from caserun.store.engine import Database

    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(cfg.db_url)
    try:
        migrate.upgrade(db.engine)
        yield db
    finally:
        db.dispose()
