"""Saved selections: named criteria (tag, suite, text, test ids) a project keeps for the
manual launches it runs again and again ("smoke", "checkout regression").

They live in the project's settings (``project.settings["selections"]``), beside its
retention policy, so they need no table of their own and travel with
``caserun export-project``. Saving a name again replaces it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from caserun.domain.model import Role
from caserun.errors import InvalidInput, NotFound
from caserun.service.auth import Principal
from caserun.service.projects import lookup
from caserun.store import definitions
from caserun.store.definitions import Selection
from caserun.store.engine import Database
from caserun.store.retention import project_settings, save_project_settings

KEY = "selections"
NAME = re.compile(r"^[\w][\w .-]{0,79}$")
MAX_SELECTIONS = 200


@dataclass(frozen=True, slots=True)
class SavedSelection:
    name: str
    selection: Selection


def _check_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidInput(f"selection name {name!r}: 1–80 letters, digits, spaces, '.', '-' or '_'")
    return name


def _from_json(name: str, value: object) -> SavedSelection:
    data = value if isinstance(value, dict) else {}
    ids = tuple(int(i) for i in data.get("ids") or () if isinstance(i, int))
    chosen = Selection(tag=data.get("tag"), suite=data.get("suite"), text=data.get("text"), ids=ids)
    return SavedSelection(name, chosen)


def list_saved(db: Database, principal: Principal, project_key: str) -> list[SavedSelection]:
    with db.read() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.VIEWER, project.id)
        saved = project_settings(conn, project.id).get(KEY) or {}
    return [_from_json(name, value) for name, value in sorted(saved.items())]


def save(db: Database, principal: Principal, project_key: str, name: str, chosen: Selection) -> SavedSelection:
    """Keep ``chosen`` under ``name`` (maintainer); the test ids must be the project's."""
    _check_name(name)
    if chosen.empty:
        raise InvalidInput("a selection needs a tag, a suite, a text to search or test ids")
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.MAINTAINER, project.id)
        if chosen.ids:
            missing = sorted(set(chosen.ids) - definitions.ids_in_project(conn, project.id, chosen.ids))
            if missing:
                raise NotFound(f"tests not in project {project.key}: {', '.join(map(str, missing[:10]))}")
        values = project_settings(conn, project.id)
        saved = dict(values.get(KEY) or {})
        if name not in saved and len(saved) >= MAX_SELECTIONS:
            raise InvalidInput(f"a project keeps at most {MAX_SELECTIONS} selections")
        saved[name] = {**asdict(chosen), "ids": list(chosen.ids)}
        save_project_settings(conn, project.id, {**values, KEY: saved})
    return SavedSelection(name, chosen)


def delete(db: Database, principal: Principal, project_key: str, name: str) -> None:
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.MAINTAINER, project.id)
        values = project_settings(conn, project.id)
        saved = dict(values.get(KEY) or {})
        if saved.pop(name, None) is None:
            raise NotFound(f"no saved selection {name!r} in project {project.key}")
        save_project_settings(conn, project.id, {**values, KEY: saved})


def load(db: Database, principal: Principal, project_key: str, name: str) -> Selection:
    """The criteria saved under ``name`` (viewer may read; creating a launch checks its own role)."""
    for saved in list_saved(db, principal, project_key):
        if saved.name == name:
            return saved.selection
    raise NotFound(f"no saved selection {name!r} in project {project_key}")
