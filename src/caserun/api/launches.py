"""Launches: list, create, import reports, read, finish, archive, delete."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from caserun.api import convert, schemas
from caserun.api.deps import ContextDep, PrincipalDep
from caserun.api.launch_admin import LaunchArchiveState, LaunchDeleted
from caserun.api.uploads import MAX_PARTS, read_upload
from caserun.domain.model import LaunchSource, LaunchStatus
from caserun.errors import InvalidInput, PayloadTooLarge
from caserun.service import imports, launches
from caserun.service.launches import LaunchParams
from caserun.store.launches import LaunchFilter

router = APIRouter(tags=["launches"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": schemas.ErrorResponse} for code in (401, 403, 404, 409, 413, 422)
}


@router.get("/api/v1/projects/{key}/launches", response_model=schemas.Page[schemas.LaunchPublic], responses=ERRORS)
async def list_launches(
    key: str,
    ctx: ContextDep,
    who: PrincipalDep,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    environment: str | None = None,
    branch: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Annotated[LaunchSource | None, Query(description="how the launch arrived")] = None,
    min_pass_rate: Annotated[float | None, Query(ge=0, le=100, description="pass rate at least (percent)")] = None,
    max_pass_rate: Annotated[float | None, Query(ge=0, le=100, description="pass rate at most (percent)")] = None,
    archived: Annotated[bool, Query(description="true: only the archived launches (hidden by default)")] = False,
    sort: Annotated[
        str,
        Query(description="created_at, started_at, name, duration_ms or pass_rate; prefix - for descending"),
    ] = "-created_at",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> schemas.Page[schemas.LaunchPublic]:
    """A project's launches, newest first by default, with filters and a cursor.

    A pass-rate band (``min_pass_rate``, ``max_pass_rate``, both included) leaves out
    launches with no pass rate (nothing passed or failed). Archived launches are listed
    only with ``archived=true``."""
    statuses = [launches.parse_launch_status(s).value for s in status_ or []]
    flt = LaunchFilter(
        status=statuses or None,
        environment=environment,
        branch=branch,
        since=since,
        until=until,
        source=source.value if source else None,
        min_pass_rate=min_pass_rate,
        max_pass_rate=max_pass_rate,
        archived=archived,
        sort=sort,
    )
    items, nxt = await run_in_threadpool(
        launches.list_page, ctx.db, who, key, flt, cursor=cursor, limit=limit, base_url=ctx.settings.base_url
    )
    return schemas.Page(items=[convert.launch(v) for v in items], next=nxt)


@router.post(
    "/api/v1/projects/{key}/launches",
    response_model=schemas.LaunchPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
async def create_launch(
    key: str,
    body: schemas.LaunchCreate,
    ctx: ContextDep,
    who: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> schemas.LaunchPublic:
    """Start a launch in ``running``; add case runs to it, then finish it."""
    params = LaunchParams(
        name=body.name,
        environment=body.environment,
        branch=body.branch,
        commit=body.commit,
        build_url=body.build_url,
        attributes=body.attributes,
        retry_of=body.retry_of,
        source=LaunchSource(body.source),
        idempotency_key=idempotency_key,
    )
    view = await run_in_threadpool(launches.create, ctx.db, who, key, params, ctx.settings.base_url)
    return convert.launch(view)


@router.post(
    "/api/v1/projects/{key}/imports",
    response_model=schemas.LaunchEnvelope,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["report"],
                        "properties": {
                            "report": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "attachment": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "name": {"type": "string"},
                            "environment": {"type": "string"},
                            "branch": {"type": "string"},
                            "commit": {"type": "string"},
                            "build_url": {"type": "string"},
                            "format": {"type": "string"},
                            "retry_of": {"type": "integer"},
                            "attr": {"type": "array", "items": {"type": "string"}},
                            "archive": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "filenames of report parts that are zip archives of a results "
                                "directory (Allure): each is unpacked and read as one report",
                            },
                        },
                    }
                }
            }
        }
    },
)
async def import_reports(
    key: str,
    request: Request,
    response: Response,
    ctx: ContextDep,
    who: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> schemas.LaunchEnvelope:
    """Import report files (multipart ``report`` parts, plus the ``attachment`` files they
    reference, each named by the path the report wrote) as one completed launch.

    A report that is a directory (an Allure results directory) is sent as a zip in a
    ``report`` part whose filename is named in an ``archive`` field; it is unpacked safely
    (no ``../`` or absolute entries, no symlinks, size, entry and compression-ratio caps)
    and read as one report.

    All or nothing: a file that cannot be read is refused with its name and line, and
    nothing is written. Re-sending with the same ``Idempotency-Key`` returns the launch
    created the first time (200 instead of 201)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > ctx.settings.max_upload_bytes:
        raise PayloadTooLarge(f"upload of {length} bytes is over the limit of {ctx.settings.max_upload_bytes}")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send the reports as multipart/form-data")
    async with request.form(max_files=MAX_PARTS, max_fields=1000) as form:
        upload = await read_upload(form, max_bytes=ctx.settings.max_upload_bytes, format_override=None)
    try:
        fmt = upload.one("format")
        archives = {Path(a).name for a in upload.fields.get("archive", [])}  # as read_upload names the parts
        unknown = sorted(archives - {r.name for r in upload.reports})
        if unknown:
            raise InvalidInput(f"archive {unknown[0]!r} is not the filename of a 'report' part")
        upload.reports = [
            imports.ReportFile(r.path, r.name, fmt or r.format, archive=r.name in archives) for r in upload.reports
        ]
        params = LaunchParams(
            name=upload.one("name"),
            environment=upload.one("environment"),
            branch=upload.one("branch"),
            commit=upload.one("commit"),
            build_url=upload.one("build_url"),
            attributes=_attrs(upload.fields.get("attr", [])),
            retry_of=_int(upload.one("retry_of"), "retry_of"),
            source=LaunchSource.CLI if upload.one("source") == "cli" else LaunchSource.API,
            idempotency_key=idempotency_key,
        )
        view, created = await run_in_threadpool(
            imports.import_reports,
            ctx.db,
            ctx.blobs,
            who,
            key,
            upload.reports,
            upload.attachments,
            params,
            base_url=ctx.settings.base_url,
            max_attachment_bytes=ctx.settings.max_attachment_bytes,
            archive_limits=imports.ArchiveLimits(max_bytes=ctx.settings.max_upload_bytes),
        )
    finally:
        upload.cleanup()
    if not created:
        response.status_code = status.HTTP_200_OK
    return schemas.LaunchEnvelope(launch=convert.launch(view))


def _attrs(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, val = value.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"attribute {value!r} is not NAME=VALUE")
        out[name.strip()] = val.strip()
    return out


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise InvalidInput(f"{name} must be a launch id")
    return int(value)


@router.get("/api/v1/launches/{launch_id}", response_model=schemas.LaunchDetailPublic, responses=ERRORS)
async def get_launch(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    baseline: Annotated[int | None, Query(description="compare with this launch instead of the previous one")] = None,
) -> schemas.LaunchDetailPublic:
    """A launch, its summary, and its comparison with the previous launch of the same
    project, branch and environment (or the ``baseline`` given)."""
    view = await run_in_threadpool(launches.get, ctx.db, who, launch_id, ctx.settings.base_url, baseline_id=baseline)
    return convert.launch_detail(view)


@router.post("/api/v1/launches/{launch_id}/finish", response_model=schemas.LaunchPublic, responses=ERRORS)
async def finish_launch(
    launch_id: int, body: schemas.LaunchFinish, ctx: ContextDep, who: PrincipalDep
) -> schemas.LaunchPublic:
    """Finish a running launch: ``completed``, ``failed`` (a system error) or ``stopped``."""
    view = await run_in_threadpool(
        launches.finish, ctx.db, who, launch_id, LaunchStatus(body.status), ctx.settings.base_url
    )
    return convert.launch(view)


@router.post("/api/v1/launches/{launch_id}/archive", response_model=LaunchArchiveState, responses=ERRORS)
async def archive_launch(launch_id: int, ctx: ContextDep, who: PrincipalDep) -> LaunchArchiveState:
    """Archive a finished launch (maintainer): it leaves the default launch list
    (``?archived=true`` lists it) and is never picked as a comparison baseline."""
    state = await run_in_threadpool(launches.archive, ctx.db, who, launch_id)
    return LaunchArchiveState.model_validate(state)


@router.post("/api/v1/launches/{launch_id}/unarchive", response_model=LaunchArchiveState, responses=ERRORS)
async def unarchive_launch(launch_id: int, ctx: ContextDep, who: PrincipalDep) -> LaunchArchiveState:
    """Bring an archived launch back (maintainer)."""
    state = await run_in_threadpool(launches.unarchive, ctx.db, who, launch_id)
    return LaunchArchiveState.model_validate(state)


@router.delete("/api/v1/launches/{launch_id}", response_model=LaunchDeleted, responses=ERRORS)
async def delete_launch(
    launch_id: int,
    ctx: ContextDep,
    who: PrincipalDep,
    confirm: Annotated[str, Query(max_length=300, description="the launch's exact name, as a safety check")],
) -> LaunchDeleted:
    """Delete a launch for good (maintainer): its case runs, logs, attachment rows, defect
    links and audit rows go too, and the statistics of its tests are rebuilt without it,
    in one transaction. ``confirm`` must be the launch's name (422 otherwise)."""
    gone = await run_in_threadpool(launches.delete, ctx.db, who, launch_id, confirm)
    return LaunchDeleted.model_validate(gone)
