"""One typed Settings for server and CLI, read from arguments and ``CASERUN_*`` variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from caserun.errors import ConfigError


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "caserun"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: settings read as a duration from a ``CASERUN_*`` variable
_DURATIONS = {
    "inactivity_timeout_s": "CASERUN_STALE_AFTER",
    "sweep_interval_s": "CASERUN_SWEEP_EVERY",
    "blob_grace_s": "CASERUN_BLOB_GRACE",
    "shutdown_grace_s": "CASERUN_SHUTDOWN_GRACE",
}


def parse_duration(text: str, name: str = "duration") -> int:
    """Seconds from ``7200``, ``90m``, ``2h`` or ``1d``; a clear error names the setting."""
    value = text.strip().lower()
    unit = _UNITS.get(value[-1:], 0) if value else 0
    number = value[:-1] if unit else value
    if not number.isdigit():
        raise ConfigError(f"{name}={text!r} is not a duration: use seconds or a number with s, m, h or d")
    return int(number) * (unit or 1)


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
    #: a launch left running this long without activity is finished as stopped
    #: (``CASERUN_STALE_AFTER``: seconds, or ``90m``, ``2h``, ``1d``; 0 turns the sweeper off)
    inactivity_timeout_s: int = 2 * 3600
    #: how often ``caserun serve`` looks for stale launches (``CASERUN_SWEEP_EVERY``; 0: never)
    sweep_interval_s: float = 300
    #: a blob file written or reused this recently is never garbage-collected: an upload
    #: that wrote it may not have committed yet (``CASERUN_BLOB_GRACE``)
    blob_grace_s: int = 6 * 3600
    #: seconds ``caserun serve`` waits for in-flight requests on SIGTERM (``CASERUN_SHUTDOWN_GRACE``)
    shutdown_grace_s: int = 30
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
        for name, var in _DURATIONS.items():
            if env.get(var):
                values[name] = parse_duration(env[var], var)
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
