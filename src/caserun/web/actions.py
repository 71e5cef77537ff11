"""What the pages' forms do: each checks the CSRF token, calls one service (which checks
the role; a viewer gets the 403 page and nothing changes), and redirects back to a page
with a fixed notice (post/redirect/get)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep
from caserun.errors import InvalidInput
from caserun.service import defects, history, launch_triage, launches, patterns, quarantine, triage
from caserun.service.defects import DefectFields
from caserun.web import present, security
from caserun.web.rendering import PageRoute
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=2000)]
Long = Annotated[str, Form(max_length=20_000)]
Ids = Annotated[list[int], Form()]


def _back(path: str, done: str) -> Response:
    return RedirectResponse(present.link(path, done=done), status_code=303)


def _optional(value: str) -> str | None:
    return value.strip() or None


# -- tests: quarantine and merge ---------------------------------------------------------


@router.post("/tests/{test_id}/quarantine")
async def quarantine_test(
    request: Request,
    test_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    reason: Short = "",
    expires: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    until = None
    if expires.strip():
        try:
            until = datetime.combine(date.fromisoformat(expires.strip()), time.max, tzinfo=UTC)
        except ValueError:
            raise InvalidInput("the expiry date is not a date (YYYY-MM-DD)") from None
    test = await run_in_threadpool(history.get_test, ctx.db, who, test_id)
    await run_in_threadpool(
        lambda: quarantine.add(ctx.db, who, test.project_key, reason=reason, test_case_id=test_id, expires_at=until)
    )
    return _back(f"/tests/{test_id}", "quarantined")


@router.post("/tests/{test_id}/quarantine/lift")
async def lift_quarantine(
    request: Request, test_id: int, ctx: ContextDep, who: SignedInDep, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    test = await run_in_threadpool(history.get_test, ctx.db, who, test_id)
    await run_in_threadpool(quarantine.lift, ctx.db, who, test.project_key, test_id)
    return _back(f"/tests/{test_id}", "released")


@router.post("/tests/{test_id}/merge")
async def merge_test(
    request: Request, test_id: int, ctx: ContextDep, who: SignedInDep, into: Annotated[int, Form()], csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    target = await run_in_threadpool(history.merge, ctx.db, who, test_id, into)
    return _back(f"/tests/{target.id}", "merged")


# -- defects -----------------------------------------------------------------------------


@router.post("/projects/{key}/defects")
async def create_defect(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    title: Short = "",
    description: Long = "",
    severity: Annotated[str, Form(max_length=20)] = "medium",
    assignee: Short = "",
    external_url: Short = "",
) -> Response:
    security.check_csrf(request, csrf)
    values = DefectFields(
        title=title,
        description=_optional(description),
        severity=severity,
        assignee=_optional(assignee),
        external_url=_optional(external_url),
    )
    view = await run_in_threadpool(defects.create, ctx.db, who, key, values)
    return _back(f"/defects/{view.id}", "defect-created")


@router.post("/defects/{defect_id}/status")
async def move_defect(
    request: Request,
    defect_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(defects.edit, ctx.db, who, defect_id, {"status": status})
    return _back(f"/defects/{defect_id}", "defect-moved")


@router.post("/defects/{defect_id}/edit")
async def edit_defect(
    request: Request,
    defect_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    title: Short = "",
    description: Long = "",
    severity: Annotated[str, Form(max_length=20)] = "medium",
    assignee: Short = "",
    external_url: Short = "",
) -> Response:
    security.check_csrf(request, csrf)
    changes = {
        "title": title,
        "description": _optional(description),
        "severity": severity,
        "assignee": _optional(assignee),
        "external_url": _optional(external_url),
    }
    await run_in_threadpool(defects.edit, ctx.db, who, defect_id, changes)
    return _back(f"/defects/{defect_id}", "defect-saved")


@router.post("/defects/{defect_id}/unlink")
async def unlink_from_defect(
    request: Request, defect_id: int, ctx: ContextDep, who: SignedInDep, case_run_id: Ids, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(defects.unlink, ctx.db, who, defect_id, case_run_id)
    return _back(f"/defects/{defect_id}", "unlinked")


@router.post("/case-runs/{case_run_id}/defect")
async def defect_from_case_run(
    request: Request,
    case_run_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    title: Short = "",
    description: Long = "",
    severity: Annotated[str, Form(max_length=20)] = "medium",
    assignee: Short = "",
    external_url: Short = "",
) -> Response:
    """A defect from a failed case run: the form comes prefilled; what the user leaves blank
    falls back to the prefilled value."""
    security.check_csrf(request, csrf)
    overrides = DefectFields(
        title=_optional(title),
        description=_optional(description),
        severity=severity or None,
        assignee=_optional(assignee),
        external_url=_optional(external_url),
    )
    view = await run_in_threadpool(defects.from_case_run, ctx.db, who, case_run_id, overrides)
    return _back(f"/defects/{view.id}", "defect-created")


@router.post("/case-runs/{case_run_id}/link")
async def link_case_run(
    request: Request,
    case_run_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    defect_id: Annotated[int, Form()],
    csrf: Csrf = "",
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(defects.link, ctx.db, who, defect_id, [case_run_id])
    return _back(f"/case-runs/{case_run_id}", "linked")


@router.post("/case-runs/{case_run_id}/unlink")
async def unlink_case_run(
    request: Request,
    case_run_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    defect_id: Annotated[int, Form()],
    csrf: Csrf = "",
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(defects.unlink, ctx.db, who, defect_id, [case_run_id])
    return _back(f"/case-runs/{case_run_id}", "unlinked")


@router.post("/patterns/{pattern_id}/defect")
async def pattern_defect(
    request: Request,
    pattern_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    defect_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    chosen = defect_id.strip()
    if chosen and not chosen.isdigit():
        raise InvalidInput("choose a defect")
    await run_in_threadpool(patterns.set_defect, ctx.db, who, pattern_id, int(chosen) if chosen else None)
    return _back(f"/patterns/{pattern_id}", "pattern-linked")


# -- a launch: bulk actions and retry ----------------------------------------------------


@router.post("/launches/{launch_id}/bulk")
async def bulk_action(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    action: Annotated[str, Form(max_length=20)] = "",
    case_run_id: Ids | None = None,
    status: Annotated[str, Form(max_length=20)] = "",
    comment: Long = "",
    defect_id: Annotated[str, Form(max_length=20)] = "",
    title: Short = "",
) -> Response:
    """Mark the selected case runs with a status (comment required), link them to an
    existing defect, or to a new one titled ``title``, or retry them in a new launch."""
    security.check_csrf(request, csrf)
    ids = list(case_run_id or [])
    if not ids:
        raise InvalidInput("select at least one case run")
    here = f"/launches/{launch_id}"
    if action == "status":
        await run_in_threadpool(triage.change_status, ctx.db, who, launch_id, ids, status, comment)
        return _back(here, "status-changed")
    if action == "link":
        if not defect_id.strip().isdigit():
            raise InvalidInput("choose the defect to link to")
        await run_in_threadpool(defects.link, ctx.db, who, int(defect_id), ids)
        return _back(here, "linked")
    if action == "new_defect":
        view = await run_in_threadpool(
            launch_triage.defect_for_runs, ctx.db, who, launch_id, ids, DefectFields(title=title)
        )
        return _back(f"/defects/{view.id}", "defect-created")
    if action == "retry":
        retry = await run_in_threadpool(
            lambda: triage.create_retry(ctx.db, who, launch_id, ctx.settings.base_url, case_run_ids=ids)
        )
        return _back(f"/launches/{retry.id}", "retry-selected")
    raise InvalidInput("choose what to do with the selected case runs")


@router.post("/launches/{launch_id}/retry")
async def retry_launch(
    request: Request, launch_id: int, ctx: ContextDep, who: SignedInDep, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    view = await run_in_threadpool(triage.create_retry, ctx.db, who, launch_id, ctx.settings.base_url)
    return _back(f"/launches/{view.id}", "retry-created")


# -- a launch: archive and delete --------------------------------------------------------


@router.post("/launches/{launch_id}/archive")
async def archive_launch(
    request: Request, launch_id: int, ctx: ContextDep, who: SignedInDep, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(launches.archive, ctx.db, who, launch_id)
    return _back(f"/launches/{launch_id}", "archived")


@router.post("/launches/{launch_id}/unarchive")
async def unarchive_launch(
    request: Request, launch_id: int, ctx: ContextDep, who: SignedInDep, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(launches.unarchive, ctx.db, who, launch_id)
    return _back(f"/launches/{launch_id}", "unarchived")


@router.post("/launches/{launch_id}/delete")
async def delete_launch(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    confirm: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Delete the launch once the user has typed its name (the service checks it)."""
    security.check_csrf(request, csrf)
    gone = await run_in_threadpool(launches.delete, ctx.db, who, launch_id, confirm)
    return _back(f"/projects/{gone.project_key}", "launch-deleted")
