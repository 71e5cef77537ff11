"""Every route of the app × every role × own project / other project, against one declared
rule table. A route the table does not name fails the suite: whoever adds a route decides,
here, who may call it.

How a rule reads:

- ``public``: the same answer for everyone, token or not.
- ``api(role)``: a Bearer token. No token → 401; a token of another project → 404 (other
  projects are invisible, not forbidden); a weaker role → 403; the role or stronger (and
  the instance admin, on any project) → one of the rule's ``ok`` statuses.
- ``page(role)``: a browser session. No session → 303 to the sign-in form; otherwise as
  ``api`` but the answers are pages (404 page, 403 page) and a form post ends in 303.
- ``scope="global"``: the route names no project (asked once per role, not per project).
- ``fresh``: the request destroys what it names, so it gets newly seeded ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from caserun.service import projects
from caserun.store.engine import Database
from tests.security.world import ROLES, Seeded, csrf, seed, sign_in

ORDER = ("viewer", "reporter", "maintainer", "admin")
Request = Callable[[Seeded, Seeded], dict[str, Any]]  # (target, same-project helper data) -> httpx kwargs


def nothing(_t: Seeded, _o: Seeded) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Rule:
    kind: str  # public | api | page
    role: str | None = None  # weakest role allowed; "instance" = instance admins only
    ok: frozenset[int] = frozenset({200})
    request: Request = nothing
    scope: str = "project"  # project | global
    fresh: bool = False
    public_status: frozenset[int] = field(default_factory=frozenset)


def api(role: str, *ok: int, request: Request = nothing, scope: str = "project", fresh: bool = False) -> Rule:
    return Rule("api", role, frozenset(ok or {200}), request, scope, fresh)


def page(role: str, *ok: int, request: Request = nothing, scope: str = "project", fresh: bool = False) -> Rule:
    return Rule("page", role, frozenset(ok or {200}), request, scope, fresh)


def public(*statuses: int, request: Request = nothing) -> Rule:
    return Rule("public", None, frozenset(statuses), request, "global", public_status=frozenset(statuses))


def body(**kwargs: Callable[[Seeded], Any] | Any) -> Request:
    """A JSON body; callables are given the target's seeded ids."""

    def make(t: Seeded, _o: Seeded) -> dict[str, Any]:
        return {"json": {k: (v(t) if callable(v) else v) for k, v in kwargs.items()}}

    return make


def form(**kwargs: Callable[[Seeded], Any] | Any) -> Request:
    def make(t: Seeded, _o: Seeded) -> dict[str, Any]:
        return {"data": {k: (v(t) if callable(v) else v) for k, v in kwargs.items()}}

    return make


def params(**kwargs: Callable[[Seeded], Any] | Any) -> Request:
    def make(t: Seeded, _o: Seeded) -> dict[str, Any]:
        return {"params": {k: (v(t) if callable(v) else v) for k, v in kwargs.items()}}

    return make


def upload(t: Seeded, _o: Seeded) -> dict[str, Any]:
    report = b'<testsuite><testcase classname="m" name="t"/></testsuite>'
    return {"files": [("report", ("r.xml", report))]}


def events(t: Seeded, _o: Seeded) -> dict[str, Any]:
    started = {"type": "launch_started", "launch": {"client_id": "matrix", "name": "matrix events"}}
    return {"json": {"events": [started]}}


def merge_into(t: Seeded, o: Seeded) -> dict[str, Any]:
    """Merge a freshly seeded test into one that never ran beside it (a rename)."""
    return {"json": {"into": o.other_test}}


def merge_form(t: Seeded, o: Seeded) -> dict[str, Any]:
    return {"data": {"into": o.other_test}}


PATH_IDS: dict[str, Callable[[Seeded], object]] = {
    "key": lambda t: t.key,
    "launch_id": lambda t: t.launch,
    "case_run_id": lambda t: t.case_run,
    "attachment_id": lambda t: t.attachment,
    "test_id": lambda t: t.test,
    "test_case_id": lambda t: t.quarantined_test,
    "pattern_id": lambda t: t.pattern,
    "defect_id": lambda t: t.defect,
    "link_id": lambda t: t.share_link,
    "token_id": lambda t: t.token,
    "token": lambda t: t.share_token,
    "code": lambda t: "not-a-real-code",
    "webhook_id": lambda t: 987_654_321,
    "name": lambda t: "smoke",
}
#: routes whose ``launch_id`` / ``case_run_id`` must be the running launch and its running run
RUNNING = {
    ("POST", "/api/v1/launches/{launch_id}/finish"),
    ("POST", "/api/v1/launches/{launch_id}/case-runs"),
    ("PATCH", "/api/v1/case-runs/{case_run_id}"),
    ("POST", "/api/v1/case-runs/{case_run_id}/manual-result"),
    ("POST", "/case-runs/{case_run_id}/execute"),
}
#: routes whose ``test_id`` must be the quarantined test
QUARANTINED = {("POST", "/tests/{test_id}/quarantine/lift")}

RULES: dict[tuple[str, str], Rule] = {
    # -- open to everyone ---------------------------------------------------------------
    ("GET", "/openapi.json"): public(200),
    ("GET", "/api/docs"): public(200),
    ("GET", "/docs/oauth2-redirect"): public(200),
    ("GET", "/healthz"): public(200),
    ("GET", "/api/v1/version"): public(200),
    ("GET", "/api/v1/formats"): public(200),
    ("GET", "/api/v1/events/schema"): public(200),
    ("GET", "/static"): public(200, request=lambda t, o: {"url": "/static/app.js"}),
    ("GET", "/login"): public(200),
    ("POST", "/login"): public(401, request=form(token="crn_wrong")),
    ("GET", "/login/{code}"): public(401),
    ("POST", "/logout"): public(303),
    # a share link is the capability: whoever holds it reads that one launch
    ("GET", "/s/{token}"): public(200),
    ("POST", "/s/{token}"): public(303, request=form(password="whatever")),
    # -- JSON API -------------------------------------------------------------------------
    ("GET", "/api/v1/projects"): api("viewer", scope="global"),
    ("POST", "/api/v1/projects"): api("instance", 201, scope="global", request=body(key="fresh-project")),
    ("GET", "/api/v1/projects/{key}"): api("viewer"),
    ("GET", "/api/v1/projects/{key}/launches"): api("viewer"),
    ("POST", "/api/v1/projects/{key}/launches"): api("reporter", 201, request=body(name="matrix")),
    ("POST", "/api/v1/projects/{key}/imports"): api("reporter", 201, request=upload),
    ("GET", "/api/v1/launches/{launch_id}"): api("viewer"),
    ("POST", "/api/v1/launches/{launch_id}/finish"): api("reporter", 200, 409, request=body(status="completed")),
    ("POST", "/api/v1/launches/{launch_id}/archive"): api("maintainer"),
    ("POST", "/api/v1/launches/{launch_id}/unarchive"): api("maintainer"),
    ("DELETE", "/api/v1/launches/{launch_id}"): api(
        "maintainer", fresh=True, request=params(confirm=lambda t: t.launch_name)
    ),
    ("GET", "/api/v1/launches/{launch_id}/case-runs"): api("viewer"),
    ("POST", "/api/v1/launches/{launch_id}/case-runs"): api(
        "reporter", 201, 409, request=body(items=[{"name": "test_more", "status": "passed"}])
    ),
    ("GET", "/api/v1/case-runs/{case_run_id}"): api("viewer"),
    ("PATCH", "/api/v1/case-runs/{case_run_id}"): api("reporter", 204, 409, request=body(status="passed")),
    ("GET", "/api/v1/attachments/{attachment_id}"): api("viewer"),
    ("GET", "/api/v1/projects/{key}/tests"): api("viewer", request=params(q="checkout")),
    ("GET", "/api/v1/tests/{test_id}/history"): api("viewer"),
    ("POST", "/api/v1/tests/{test_id}/merge"): api("maintainer", fresh=True, request=merge_into),
    ("GET", "/api/v1/projects/{key}/flaky"): api("viewer"),
    ("GET", "/api/v1/projects/{key}/broken"): api("viewer"),
    ("GET", "/api/v1/projects/{key}/slow"): api("viewer"),
    ("POST", "/api/v1/projects/{key}/events"): api("reporter", 200, 207, request=events),
    ("GET", "/api/v1/launches/{launch_id}/stream"): api("viewer", request=params(timeout=1)),
    ("GET", "/api/v1/projects/{key}/defects"): api("viewer"),
    ("POST", "/api/v1/projects/{key}/defects"): api("maintainer", 201, request=body(title="matrix defect")),
    ("GET", "/api/v1/defects/{defect_id}"): api("viewer"),
    ("PATCH", "/api/v1/defects/{defect_id}"): api("maintainer", request=body(assignee="alice")),
    ("GET", "/api/v1/defects/{defect_id}/case-runs"): api("viewer"),
    ("POST", "/api/v1/defects/{defect_id}/links"): api("maintainer", request=body(case_run_ids=lambda t: [t.case_run])),
    ("DELETE", "/api/v1/defects/{defect_id}/links"): api(
        "maintainer", request=body(case_run_ids=lambda t: [t.case_run])
    ),
    ("PUT", "/api/v1/defects/{defect_id}/links/{case_run_id}"): api("maintainer"),
    ("DELETE", "/api/v1/defects/{defect_id}/links/{case_run_id}"): api("maintainer"),
    ("POST", "/api/v1/case-runs/{case_run_id}/defect"): api("maintainer", 201, request=body(title="from run")),
    ("GET", "/api/v1/projects/{key}/quarantine"): api("viewer"),
    ("POST", "/api/v1/projects/{key}/quarantine"): api(
        "maintainer", 201, 200, request=body(test_case_id=lambda t: t.other_test, reason="matrix")
    ),
    ("DELETE", "/api/v1/projects/{key}/quarantine/{test_case_id}"): api("maintainer", 200, 204, fresh=True),
    ("POST", "/api/v1/launches/{launch_id}/case-runs/status"): api(
        "maintainer", request=body(case_run_ids=lambda t: [t.case_run], status="passed", comment="known issue")
    ),
    # 409: the triage rules above already passed its only failure
    ("POST", "/api/v1/launches/{launch_id}/retry"): api("reporter", 201, 409, request=body()),
    ("GET", "/api/v1/launches/{launch_id}/retry-plan"): api("viewer", request=params(runner="pytest")),
    ("GET", "/api/v1/projects/{key}/failure-patterns"): api("viewer"),
    ("GET", "/api/v1/failure-patterns/{pattern_id}"): api("viewer"),
    ("GET", "/api/v1/launches/{launch_id}/failure-patterns"): api("viewer"),
    ("PUT", "/api/v1/failure-patterns/{pattern_id}/defect"): api(
        "maintainer", request=body(defect_id=lambda t: t.defect)
    ),
    ("GET", "/api/v1/projects/{key}/settings"): api("viewer"),
    ("PUT", "/api/v1/projects/{key}/settings"): api("maintainer", request=body(retention_days=365)),
    ("POST", "/api/v1/projects/{key}/retention/run"): api("maintainer", request=params(dry_run="true")),
    ("POST", "/api/v1/launches/{launch_id}/keep"): api("maintainer"),
    ("POST", "/api/v1/launches/{launch_id}/unkeep"): api("maintainer"),
    ("GET", "/api/v1/projects/{key}/launches/export"): api("viewer"),
    ("GET", "/api/v1/launches/{launch_id}/case-runs/export"): api("viewer"),
    ("GET", "/api/v1/tests/{test_id}/history/export"): api("viewer"),
    ("GET", "/api/v1/launches/{launch_id}/export"): api("viewer"),
    ("POST", "/api/v1/launches/{launch_id}/share-links"): api("maintainer", 201, request=body()),
    ("GET", "/api/v1/launches/{launch_id}/share-links"): api("maintainer"),
    ("DELETE", "/api/v1/share-links/{link_id}"): api("maintainer"),
    ("GET", "/api/v1/tokens"): api("maintainer", request=params(project=lambda t: t.key)),
    ("POST", "/api/v1/tokens"): api(
        "maintainer", 201, request=body(name="matrix", role="viewer", project=lambda t: t.key)
    ),
    ("DELETE", "/api/v1/tokens/{token_id}"): api("maintainer"),
    ("GET", "/api/v1/tests/{test_id}/definition"): api("viewer"),
    ("PUT", "/api/v1/tests/{test_id}/definition"): api("maintainer", request=body(priority="high", tags=["smoke"])),
    ("POST", "/api/v1/projects/{key}/manual-launches"): api("maintainer", 201, request=body(q="checkout")),
    ("GET", "/api/v1/projects/{key}/selections"): api("viewer"),
    ("PUT", "/api/v1/projects/{key}/selections/{name}"): api("maintainer", request=body(q="checkout")),
    # the saved selection may not exist yet when the matrix reaches this route
    ("DELETE", "/api/v1/projects/{key}/selections/{name}"): api("maintainer", 204, 404),
    ("POST", "/api/v1/case-runs/{case_run_id}/manual-result"): api("reporter", 200, 409, request=form(status="passed")),
    ("POST", "/api/v1/projects/{key}/webhooks"): api(
        "maintainer", 201, request=body(url="http://127.0.0.1:9/hook", events=["launch.finished"])
    ),
    ("GET", "/api/v1/projects/{key}/webhooks"): api("maintainer"),
    ("GET", "/api/v1/projects/{key}/webhooks/deliveries"): api("maintainer"),
    # the seeded world holds no webhook: an allowed caller learns that this id is not one (404)
    ("DELETE", "/api/v1/projects/{key}/webhooks/{webhook_id}"): api("maintainer", 404),
    # -- pages ----------------------------------------------------------------------------
    ("GET", "/"): page("viewer", scope="global"),
    ("GET", "/projects/{key}"): page("viewer"),
    ("GET", "/launches/{launch_id}"): page("viewer"),
    ("GET", "/case-runs/{case_run_id}"): page("viewer"),
    ("GET", "/case-runs/{case_run_id}/attachments.zip"): page("viewer"),
    ("GET", "/tests/{test_id}"): page("viewer"),
    ("GET", "/projects/{key}/flaky"): page("viewer"),
    ("GET", "/projects/{key}/broken"): page("viewer"),
    ("GET", "/projects/{key}/slow"): page("viewer"),
    ("GET", "/projects/{key}/patterns"): page("viewer"),
    ("GET", "/patterns/{pattern_id}"): page("viewer"),
    ("GET", "/projects/{key}/defects"): page("viewer"),
    ("GET", "/defects/{defect_id}"): page("viewer"),
    ("POST", "/tests/{test_id}/quarantine"): page("maintainer", 303, request=form(reason="matrix")),
    ("POST", "/tests/{test_id}/quarantine/lift"): page("maintainer", 303, fresh=True),
    ("POST", "/tests/{test_id}/merge"): page("maintainer", 303, fresh=True, request=merge_form),
    ("POST", "/projects/{key}/defects"): page("maintainer", 303, request=form(title="page defect")),
    ("POST", "/defects/{defect_id}/status"): page("maintainer", 303, request=form(status="in_progress")),
    ("POST", "/defects/{defect_id}/edit"): page("maintainer", 303, request=form(title="edited", severity="high")),
    ("POST", "/defects/{defect_id}/unlink"): page("maintainer", 303, request=form(case_run_id=lambda t: t.case_run)),
    ("POST", "/case-runs/{case_run_id}/defect"): page("maintainer", 303, fresh=True, request=form(title="from page")),
    ("POST", "/case-runs/{case_run_id}/link"): page("maintainer", 303, request=form(defect_id=lambda t: t.defect)),
    ("POST", "/case-runs/{case_run_id}/unlink"): page("maintainer", 303, request=form(defect_id=lambda t: t.defect)),
    ("POST", "/patterns/{pattern_id}/defect"): page("maintainer", 303, request=form(defect_id=lambda t: t.defect)),
    ("POST", "/launches/{launch_id}/bulk"): page(
        "maintainer",
        303,
        request=form(action="status", case_run_id=lambda t: t.case_run, status="passed", comment="known"),
    ),
    ("POST", "/launches/{launch_id}/retry"): page("reporter", 303, 409),
    ("POST", "/launches/{launch_id}/archive"): page("maintainer", 303),
    ("POST", "/launches/{launch_id}/unarchive"): page("maintainer", 303),
    ("POST", "/launches/{launch_id}/delete"): page(
        "maintainer", 303, fresh=True, request=form(confirm=lambda t: t.launch_name)
    ),
    ("GET", "/launches/{launch_id}/share"): page("maintainer"),
    ("POST", "/launches/{launch_id}/share"): page("maintainer", 200, 201, 303, request=form(expires_in_days=7)),
    ("POST", "/share-links/{link_id}/revoke"): page("maintainer", 303),
    ("GET", "/tokens"): page("maintainer", request=params(project=lambda t: t.key)),
    ("POST", "/tokens"): page(
        "maintainer", 201, request=form(name="page token", role="viewer", project=lambda t: t.key)
    ),
    ("POST", "/tokens/{token_id}/revoke"): page("maintainer", 303),
    ("POST", "/tests/{test_id}/definition"): page("maintainer", 303, request=form(priority="low", tags="smoke")),
    ("GET", "/projects/{key}/manual"): page("viewer", request=params(q="checkout")),
    ("POST", "/projects/{key}/manual"): page("maintainer", 303, request=form(q="checkout")),
    ("POST", "/projects/{key}/manual/selections"): page(
        "maintainer", 303, request=form(selection_name="matrix", q="checkout")
    ),
    ("GET", "/launches/{launch_id}/execute"): page("viewer"),
    ("POST", "/case-runs/{case_run_id}/execute"): page("reporter", 303, 409, request=form(status="passed")),
    ("POST", "/launches/{launch_id}/execute/finish"): page("reporter", 303, 409),
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD aside; a mount counts as GET."""
    found: list[tuple[str, str]] = []
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, Mount):
            found.append(("GET", str(ctx.path)))
            continue
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            found.append((method, str(ctx.path)))
    return found


def test_every_route_has_a_rule(app_client: TestClient) -> None:
    routes = app_routes(app_client.app)  # type: ignore[arg-type]
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in RULES]
    assert not missing, "routes without an access rule in tests/security/test_route_matrix.py: " + ", ".join(missing)
    stale = [f"{m} {p}" for m, p in RULES if (m, p) not in routes]
    assert not stale, "rules for routes that no longer exist: " + ", ".join(stale)


def expected(rule: Rule, role: str, own: bool) -> frozenset[int]:
    if rule.kind == "public":
        return rule.public_status
    if role == "anonymous":
        return frozenset({401}) if rule.kind == "api" else frozenset({303})
    if rule.role == "instance":
        return rule.ok if role == "instance" else frozenset({403})
    if role == "instance":
        return rule.ok
    if rule.scope == "project" and not own:
        return frozenset({404})
    assert rule.role is not None
    return rule.ok if ORDER.index(role) >= ORDER.index(rule.role) else frozenset({403})


class Caller:
    """Sends one rule's request as one role against one project's seeded data."""

    def __init__(self, client: TestClient, db: Database, role: str, instance_token: str, tokens: dict[str, str]):
        self.client, self.db, self.role = client, db, role
        self.instance_token = instance_token
        self.bearer = {} if role == "anonymous" else {"Authorization": f"Bearer {tokens[role]}"}
        self.seeds = itertools.count(100)
        sign_in(client, db, role)
        self.csrf = csrf(client)

    def seed(self, key: str) -> Seeded:
        return seed(self.client, self.instance_token, key, next(self.seeds))

    def call(self, method: str, path: str, rule: Rule, target: Seeded, helper: Seeded) -> Any:
        if (method, path) in RUNNING:
            target = Seeded(**{**target.__dict__, "launch": target.running_launch, "case_run": target.running_run})
        if (method, path) in QUARANTINED:
            target = Seeded(**{**target.__dict__, "test": target.quarantined_test})
        url = path.format(**{name: fn(target) for name, fn in PATH_IDS.items() if "{" + name + "}" in path})
        kwargs = rule.request(target, helper)
        url = kwargs.pop("url", url)
        headers = dict(self.bearer) if rule.kind in ("api", "public") and path.startswith("/api") else {}
        if method != "GET" and not path.startswith("/api"):
            kwargs["data"] = {**kwargs.get("data", {}), "csrf": self.csrf}
        return self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)


# logout ends the session the page rules use: run it last
def _ordered() -> list[tuple[str, str]]:
    return sorted(RULES, key=lambda mp: mp == ("POST", "/logout"))


@pytest.mark.parametrize("role", ROLES)
def test_route_matrix(app_client: TestClient, db: Database, tokens: dict[str, str], role: str) -> None:
    projects.create(db, "other")
    caller = Caller(app_client, db, role, tokens["instance"], tokens)
    own, other = caller.seed("web"), caller.seed("other")
    wrong: list[str] = []
    for method, path in _ordered():
        rule = RULES[(method, path)]
        targets = [("own", True)] if rule.scope == "global" else [("own", True), ("other", False)]
        for label, is_own in targets:
            base = own if is_own else other
            target = caller.seed(base.key) if rule.fresh else base
            response = caller.call(method, path, rule, target, base)
            want = expected(rule, role, is_own)
            if response.status_code not in want or response.status_code >= 500:
                wrong.append(
                    f"{role:10} {label:5} {method:6} {path}: {response.status_code} (want {sorted(want)})"
                    f" {response.text[:160]!r}"
                )
            if rule.kind == "page" and role == "anonymous" and response.status_code == 303:
                assert response.headers["location"].startswith("/login"), (method, path)
    assert not wrong, "\n" + "\n".join(wrong)


def test_a_session_cookie_reads_the_api_but_cannot_write_through_it(
    app_client: TestClient, db: Database, tokens: dict[str, str]
) -> None:
    """Pages read JSON with the session; a forged cross-site request cannot write with it."""
    sign_in(app_client, db, "admin")
    assert app_client.get("/api/v1/projects/web").status_code == 200
    assert app_client.post("/api/v1/projects/web/defects", json={"title": "forged"}).status_code == 401
    assert app_client.post("/api/v1/tokens", json={"name": "x", "role": "viewer", "project": "web"}).status_code == 401
