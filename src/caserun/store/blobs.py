"""Content-addressed blob store for attachments: files named by their sha256.

The filesystem store is the default; anything with the ``BlobStore`` shape (an
S3-compatible store, say) can replace it. A blob is written to a temporary file and
renamed into place, so a crash never leaves a half-written blob under its final name.
Blobs are written before the database transaction commits; one whose transaction rolled
back is unreferenced and removed by retention's garbage collection.

Garbage collection (``service.retention``) deletes a blob only when no attachment row
references it *and* its file was neither written nor reused (``put`` of the same content
refreshes the file's time) within a grace period: an upload that has stored a blob but
not yet committed its attachment rows is never robbed of it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

CHUNK = 1024 * 1024


class BlobStore(Protocol):
    def put(self, stream: IO[bytes], *, limit: int | None = None) -> tuple[str, int]: ...

    def open(self, sha256: str) -> IO[bytes]: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str, *, untouched_since: datetime | None = None) -> bool:
        """Remove the blob (unless it was written or reused at or after ``untouched_since``);
        True when it is gone."""
        ...

    def is_stale(self, sha256: str, untouched_since: datetime) -> bool:
        """True when the blob is missing or was last written or reused before ``untouched_since``."""
        ...

    def stale(self, untouched_since: datetime) -> Iterator[str]:
        """The digests of blobs neither written nor reused since ``untouched_since``."""
        ...


class BlobTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, stream: IO[bytes], *, limit: int | None = None) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise BlobTooLarge(limit)
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            final = self._path(sha)
            if final.exists():
                os.unlink(tmp_name)
                os.utime(final)  # reused now: garbage collection leaves it alone for a while
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
            return sha, size
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def open(self, sha256: str) -> IO[bytes]:
        return self._path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def delete(self, sha256: str, *, untouched_since: datetime | None = None) -> bool:
        path = self._path(sha256)
        try:
            if untouched_since is not None and _mtime(path) >= untouched_since:
                return False
            path.unlink()
        except FileNotFoundError:
            pass
        return True

    def is_stale(self, sha256: str, untouched_since: datetime) -> bool:
        try:
            return _mtime(self._path(sha256)) < untouched_since
        except FileNotFoundError:
            return True

    def stale(self, untouched_since: datetime) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("??/??/*"):
            name = path.name
            if len(name) == 64 and name.startswith(path.parent.parent.name + path.parent.name):
                try:
                    if _mtime(path) < untouched_since:
                        yield name
                except FileNotFoundError:
                    continue


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
