"""One typed Settings for server and CLI, read from arguments and ``CASERUN_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "caserun"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8321
    #: the address people open; defaults to http://host:port
    public_url: str | None = None
    max_upload_bytes: int = 4 * 1024**3
    max_attachment_bytes: int = 200 * 1024**2
    #: a launch left running this long without events is finished as stopped
    inactivity_timeout_s: int = 3600
    session_days: int = 14
    #: signs CSRF tokens; when unset, ``secret.key`` in the data directory is used (made once)
    secret_key: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {}
        if env.get("CASERUN_DATA_DIR"):
            values["data_dir"] = Path(env["CASERUN_DATA_DIR"])
        if env.get("CASERUN_DATABASE_URL"):
            values["database_url"] = env["CASERUN_DATABASE_URL"]
        if env.get("CASERUN_SECRET_KEY"):
            values["secret_key"] = env["CASERUN_SECRET_KEY"]
        if env.get("CASERUN_PUBLIC_URL"):
            values["public_url"] = env["CASERUN_PUBLIC_URL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'caserun.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
