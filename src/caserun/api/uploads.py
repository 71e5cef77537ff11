"""Reading a multipart report upload into temporary files, with limits.

Parts named ``report`` are report files (several make one launch); parts named
``attachment`` carry files the reports reference, under the path the report wrote as
their filename. Nothing from a filename is ever used as a path on the server.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from caserun.errors import InvalidInput, PayloadTooLarge
from caserun.service.imports import ReportFile

CHUNK = 1024 * 1024
MAX_PARTS = 100_000


@dataclass
class Upload:
    workdir: Path
    reports: list[ReportFile] = field(default_factory=list)
    attachments: dict[str, Path] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def one(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


async def _save(part: UploadFile, target: Path, budget: list[int]) -> None:
    with target.open("wb") as out:
        while chunk := await part.read(CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise PayloadTooLarge("upload is larger than the server accepts")
            out.write(chunk)


async def read_upload(form: FormData, *, max_bytes: int, format_override: str | None) -> Upload:
    upload = Upload(workdir=Path(tempfile.mkdtemp(prefix="caserun-upload-")))
    budget = [max_bytes]
    try:
        for index, (name, value) in enumerate(form.multi_items()):
            if isinstance(value, str):
                upload.fields.setdefault(name, []).append(value)
                continue
            if name == "report":
                target = upload.workdir / f"report-{index}"
                await _save(value, target, budget)
                display = Path(value.filename or f"report-{index}").name
                upload.reports.append(ReportFile(path=target, name=display, format=format_override))
            elif name == "attachment":
                if not value.filename:
                    raise InvalidInput("an attachment part needs the report's path as its filename")
                target = upload.workdir / f"attachment-{index}"
                await _save(value, target, budget)
                upload.attachments[value.filename] = target
            else:
                raise InvalidInput(f"unexpected file part {name!r}; use 'report' or 'attachment'")
        if not upload.reports:
            raise InvalidInput("no report file in the upload (send it as the 'report' part)")
    except BaseException:
        upload.cleanup()
        raise
    return upload
