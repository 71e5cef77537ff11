"""Where a report's attachments come from, and how they are stored.

The server never reads its own filesystem on a report's behalf: attachments arrive with
the upload (the CLI resolves them next to the report and sends them under the path the
report wrote) or inline in the report. Anything else becomes a per-test warning.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from caserun.domain.model import AttachmentRef
from caserun.store.blobs import BlobStore, BlobTooLarge
from caserun.store.tables import blob


def normalise_ref(path: str) -> str:
    """The key an attachment is uploaded and looked up under."""
    return path.replace("\\", "/").strip()


def content_type(name: str, declared: str | None) -> str:
    if declared and "/" in declared and len(declared) < 200:
        return declared
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


class AttachmentStore:
    """Resolves attachment references against the uploaded files and stores their blobs."""

    def __init__(self, blobs: BlobStore, uploaded: Mapping[str, Path], *, max_bytes: int) -> None:
        self.blobs = blobs
        self.uploaded = {normalise_ref(k): v for k, v in uploaded.items()}
        self.max_bytes = max_bytes
        self.stored: dict[str, int] = {}

    def store(self, ref: AttachmentRef) -> tuple[str, int] | str:
        """``(sha256, size)`` of the stored blob, or a warning explaining why not."""
        stream: IO[bytes]
        if ref.data is not None:
            stream = BytesIO(ref.data)
        elif ref.path:
            local = self.uploaded.get(normalise_ref(ref.path))
            if local is None:
                return f"attachment {ref.path!r} was not found next to the report"
            stream = local.open("rb")
        else:
            return f"attachment {ref.name!r} has neither a path nor content"
        try:
            with stream:
                sha, size = self.blobs.put(stream, limit=self.max_bytes)
        except BlobTooLarge:
            return f"attachment {ref.name!r} is larger than {self.max_bytes} bytes and was skipped"
        self.stored[sha] = size
        return sha, size

    def register(self, conn: Connection) -> None:
        """Record the blobs written so far (idempotent) inside the caller's transaction."""
        if not self.stored:
            return
        now = datetime.now(UTC)
        rows = [{"sha256": sha, "size": size, "created_at": now} for sha, size in self.stored.items()]
        existing = set(conn.execute(select(blob.c.sha256).where(blob.c.sha256.in_(list(self.stored)))).scalars())
        rows = [row for row in rows if row["sha256"] not in existing]
        if rows:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            conn.execute(dialect.insert(blob).on_conflict_do_nothing(), rows)
        self.stored.clear()
