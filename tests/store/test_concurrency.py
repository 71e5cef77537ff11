"""20 uploaders and 20 live reporters on one project at once, against a real server.

Every request is answered (no deadlock), none with a 5xx or a ``database is locked``
message, and the database holds exactly what was sent: on SQLite the writers queue on
``BEGIN IMMEDIATE`` with a busy timeout, on PostgreSQL they run side by side.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from caserun.domain.model import Role
from caserun.service import auth, projects
from caserun.settings import Settings
from caserun.store.engine import Database
from caserun.store.tables import case_run, launch
from tests.store.test_crash_recovery import free_port, junit, start_server

UPLOADERS = 20
REPORTERS = 20
UPLOADS_EACH = 2
TESTS_PER_REPORT = 25
BATCHES_EACH = 3
RUNS_PER_BATCH = 10


def test_forty_clients_at_once_get_exact_counts_and_no_lock_errors(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    projects.create(db, "web")
    token = auth.create_token(db, project_key="web", role=Role.REPORTER).token
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(settings.data_dir, settings.db_url, port)
    problems: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(UPLOADERS + REPORTERS)

    def check(answer: httpx.Response, what: str) -> None:
        if answer.status_code >= 300 or "database is locked" in answer.text:
            with lock:
                problems.append(f"{what}: {answer.status_code} {answer.text[:200]}")

    def upload(n: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            go.wait()
            for i in range(UPLOADS_EACH):
                name = f"u{n}x{i}"
                answer = client.post(
                    "/api/v1/projects/web/imports",
                    files=[("report", (f"{name}.xml", junit(name, TESTS_PER_REPORT)))],
                )
                check(answer, f"upload {name}")

    def report(n: int) -> None:
        live = f"live-{n}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            go.wait()
            answer = client.post(
                "/api/v1/projects/web/events",
                json={"events": [{"type": "launch.started", "launch": live, "name": live}]},
            )
            check(answer, f"start {live}")
            for b in range(BATCHES_EACH):
                events = []
                for r in range(RUNS_PER_BATCH):
                    run_id = f"{live}-{b}-{r}"
                    test = {"suite": "live", "name": f"test_{b}_{r}"}
                    events.append({"type": "case_run.started", "launch": live, "id": run_id, "test": test})
                    events.append(
                        {"type": "case_run.finished", "launch": live, "id": run_id, "status": "passed", "test": test}
                    )
                answer = client.post("/api/v1/projects/web/events", json={"events": events})
                check(answer, f"batch {live}/{b}")
                if answer.status_code == 200 and answer.json()["refused"]:
                    with lock:
                        problems.append(f"batch {live}/{b} refused events: {answer.text[:300]}")
            answer = client.post(
                "/api/v1/projects/web/events",
                json={"events": [{"type": "launch.finished", "launch": live, "status": "completed"}]},
            )
            check(answer, f"finish {live}")

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(UPLOADERS)]
    threads += [threading.Thread(target=report, args=(n,)) for n in range(REPORTERS)]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, 90 - (time.monotonic() - started)))
        hung = [t for t in threads if t.is_alive()]
    finally:
        server.terminate()
        server.wait(10)
    assert not hung, f"{len(hung)} clients still waiting after 90 s: a deadlock"
    log = (settings.data_dir / "server.log").read_text(errors="replace")
    assert not problems, (problems[:5], log[-3000:])

    with db.read() as conn:
        launches = conn.execute(select(launch.c.status, func.count()).group_by(launch.c.status)).all()
        runs = int(conn.execute(select(func.count()).select_from(case_run)).scalar_one())
    assert dict(launches) == {"completed": UPLOADERS * UPLOADS_EACH + REPORTERS}
    assert runs == UPLOADERS * UPLOADS_EACH * TESTS_PER_REPORT + REPORTERS * BATCHES_EACH * RUNS_PER_BATCH
