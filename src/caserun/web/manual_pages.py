"""Manual testing in the browser: edit a test's definition, start a manual launch from a
tag / suite / search, and work through it one case run at a time (next / previous with
j / k or the arrow keys), recording step results, a final status, a comment and files.

Forms check the CSRF token and call the same services as the API; the services check
the roles (a viewer gets the 403 page and nothing changes).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from caserun.api.deps import ContextDep
from caserun.api.manual import read_files
from caserun.domain.model import LaunchStatus
from caserun.service import definitions, launches, manual, selections, test_page
from caserun.service.manual import ManualLaunchParams, ManualResult, StepResult
from caserun.store.definitions import Selection
from caserun.web import present, security
from caserun.web.pages import Text, blank
from caserun.web.rendering import PageRoute, render
from caserun.web.signin import SignedInDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PREVIEW = 200
Csrf = Annotated[str, Form(max_length=200)]
Short = Annotated[str, Form(max_length=2000)]
Long = Annotated[str, Form(max_length=definitions.MAX_TEXT)]
RunId = Annotated[int | None, Query()]

NOTICES = {
    "saved": "Result saved.",
    "created": "Manual launch created: work through the tests below.",
}


# -- a test's definition -----------------------------------------------------------------


@router.post("/tests/{test_id}/definition")
async def save_definition(
    request: Request,
    test_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    description: Long = "",
    preconditions: Long = "",
    steps: Annotated[str, Form(max_length=500_000)] = "",
    priority: Annotated[str, Form(max_length=20)] = "",
    tags: Short = "",
    lifecycle: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    security.check_csrf(request, csrf)
    fields = {
        "description": description,
        "preconditions": preconditions,
        "steps": definitions.parse_steps_text(steps),
        "priority": priority or None,
        "tags": definitions.parse_tags_text(tags),
        "lifecycle": lifecycle or None,
    }
    await run_in_threadpool(definitions.save, ctx.db, who, test_id, fields)
    return RedirectResponse(f"/tests/{test_id}#definition", status_code=303)


# -- starting a manual launch ------------------------------------------------------------


def _selection(tag: str | None, suite: str | None, q: str | None) -> Selection:
    return Selection(tag=blank(tag), suite=blank(suite), text=blank(q))


@router.get("/projects/{key}/manual")
async def new_manual_launch(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    tag: Text = None,
    suite: Text = None,
    q: Text = None,
    selection: Text = None,
) -> Response:
    project = await run_in_threadpool(test_page.visible_project, ctx.db, who, key)
    chosen = _selection(tag, suite, q)
    if selection:
        chosen = await run_in_threadpool(selections.load, ctx.db, who, key, selection)
    found = await run_in_threadpool(manual.preview, ctx.db, who, key, chosen, PREVIEW)
    saved = await run_in_threadpool(selections.list_saved, ctx.db, who, key)
    return render(
        request,
        "manual_new.html",
        title=f"Run manually · {project.name}",
        crumbs=[(project.name, f"/projects/{key}"), ("Run manually", None)],
        project=project,
        chosen=chosen,
        selection=selection or "",
        saved=saved,
        searched=not chosen.empty,
        candidates=found[:PREVIEW],
        more=len(found) > PREVIEW,
    )


@router.post("/projects/{key}/manual")
async def create_manual_launch(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    tag: Short = "",
    suite: Short = "",
    q: Short = "",
    selection: Short = "",
    name: Short = "",
    environment: Short = "",
    assignee: Short = "",
) -> Response:
    security.check_csrf(request, csrf)
    params = ManualLaunchParams(name=blank(name), environment=blank(environment), assignee=blank(assignee))
    chosen = _selection(tag, suite, q)
    if selection:
        chosen = await run_in_threadpool(selections.load, ctx.db, who, key, selection)
    made = await run_in_threadpool(manual.create, ctx.db, who, key, chosen, params, ctx.settings.base_url)
    return RedirectResponse(present.link(f"/launches/{made.launch.id}/execute", done="created"), status_code=303)


@router.post("/projects/{key}/manual/selections")
async def save_selection(
    request: Request,
    key: str,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    selection_name: Short = "",
    tag: Short = "",
    suite: Short = "",
    q: Short = "",
) -> Response:
    """Keep the criteria on screen under a name, to start the same manual launch again."""
    security.check_csrf(request, csrf)
    await run_in_threadpool(selections.save, ctx.db, who, key, selection_name.strip(), _selection(tag, suite, q))
    return RedirectResponse(present.link(f"/projects/{key}/manual", selection=selection_name.strip()), status_code=303)


# -- working through it ------------------------------------------------------------------


@router.get("/launches/{launch_id}/execute")
async def execute_page(
    request: Request,
    launch_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    run: RunId = None,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    found = await run_in_threadpool(manual.get, ctx.db, who, launch_id, ctx.settings.base_url)
    runs = found.runs
    index = next((i for i, r in enumerate(runs) if r.id == run), None)
    if index is None:  # the first one still to do, else the first
        index = next((i for i, r in enumerate(runs) if r.status == "running"), 0)
    current = runs[index] if runs else None
    base = f"/launches/{launch_id}/execute"
    return render(
        request,
        "manual_run.html",
        title=f"Run · {found.launch.name}",
        crumbs=[(found.launch.project_key, f"/projects/{found.launch.project_key}"), (found.launch.name, None)],
        manual=found,
        launch=found.launch,
        runs=runs,
        current=current,
        position=index + 1,
        running=found.launch.status == LaunchStatus.RUNNING.value,
        prev_url=present.link(base, run=runs[index - 1].id) if runs and index > 0 else None,
        next_url=present.link(base, run=runs[index + 1].id) if runs and index + 1 < len(runs) else None,
        notice=NOTICES.get(done or ""),
        step_statuses=manual.STEP_STATUSES,
        results=[s.value for s in manual.RESULTS],
    )


@router.post("/case-runs/{case_run_id}/execute")
async def record_result(
    request: Request,
    case_run_id: int,
    ctx: ContextDep,
    who: SignedInDep,
    csrf: Csrf = "",
    status: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=manual.MAX_COMMENT)] = "",
    attachment: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    security.check_csrf(request, csrf)
    form = await request.form()
    count = int(str(form.get("step_count") or 0)) if str(form.get("step_count") or "0").isdigit() else 0
    steps = [
        StepResult(str(form.get(f"step_status_{n}") or "not_run"), str(form.get(f"step_actual_{n}") or ""))
        for n in range(min(count, definitions.MAX_STEPS))
    ]
    files = await read_files(attachment or [], ctx.settings.max_attachment_bytes)
    found = await run_in_threadpool(
        lambda: manual.record(
            ctx.db,
            ctx.blobs,
            who,
            case_run_id,
            ManualResult(status=status, comment=comment, steps=steps),
            files,
            max_attachment_bytes=ctx.settings.max_attachment_bytes,
            base_url=ctx.settings.base_url,
        )
    )
    ids = [r.id for r in found.runs]
    at = ids.index(case_run_id) if case_run_id in ids else 0
    # on to the next test still to do (after this one, then from the top), else stay
    order = found.runs[at + 1 :] + found.runs[:at]
    following = next((r.id for r in order if r.status == "running"), case_run_id)
    url = present.link(f"/launches/{found.launch.id}/execute", run=following, done="saved")
    return RedirectResponse(url, status_code=303)


@router.post("/launches/{launch_id}/execute/finish")
async def finish_manual_launch(
    request: Request, launch_id: int, ctx: ContextDep, who: SignedInDep, csrf: Csrf = ""
) -> Response:
    security.check_csrf(request, csrf)
    await run_in_threadpool(launches.finish, ctx.db, who, launch_id, LaunchStatus.COMPLETED, ctx.settings.base_url)
    return RedirectResponse(f"/launches/{launch_id}", status_code=303)
