"""Triage from a launch page: one new defect for several of the launch's case runs."""

from __future__ import annotations

from collections.abc import Sequence

from caserun.errors import NotFound
from caserun.service import defects
from caserun.service.auth import Principal
from caserun.service.defects import EDIT_ROLE, DefectFields, DefectView
from caserun.store import launches, projects, status_changes
from caserun.store.engine import Database


def defect_for_runs(
    db: Database, principal: Principal, launch_id: int, case_run_ids: Sequence[int], values: DefectFields
) -> DefectView:
    """Create a defect (in the launch's project, naming the launch and its environment) and
    link the given case runs of that launch to it. The runs are checked first, so a bad id
    refuses the whole action before anything is written."""
    with db.read() as conn:
        launch = launches.get(conn, launch_id)
        if launch is None:
            raise NotFound(f"launch {launch_id} not found")
        principal.require(EDIT_ROLE, int(launch["project_id"]))
        ids = list(dict.fromkeys(case_run_ids))
        found = {int(r["id"]) for r in status_changes.runs_of_launch(conn, launch_id, ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"case runs not in launch {launch_id}: {', '.join(str(i) for i in missing[:10])}")
        project = projects.by_id(conn, int(launch["project_id"]))
        assert project is not None
    values.launch_id = launch_id
    values.environment = values.environment or launch["environment"]
    view = defects.create(db, principal, str(project["key"]), values)
    defects.link(db, principal, view.id, ids)
    return view
