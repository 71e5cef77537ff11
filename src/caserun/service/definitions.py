"""Test case definitions: description, preconditions, ordered steps (action, expected
result), priority, tags and lifecycle.

Any test case can carry one, automated or manual. Anyone who may see the test reads it; a
maintainer edits it. Imports never write these fields, so what a person wrote survives
every re-import of the test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from caserun.domain.model import Role
from caserun.errors import InvalidInput, NotFound
from caserun.service.auth import Principal
from caserun.store import definitions, test_cases
from caserun.store.engine import Database

EDIT_ROLE = Role.MAINTAINER
PRIORITIES = ("critical", "high", "medium", "low")
LIFECYCLES = ("draft", "active", "archived")
MAX_TEXT = 20_000
MAX_STEP_TEXT = 5_000
MAX_STEPS = 200
MAX_TAGS = 50
TAG = re.compile(r"^[\w.:/+-]{1,50}$")


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    expected: str = ""


@dataclass(frozen=True, slots=True)
class Definition:
    test_id: int
    description: str | None = None
    preconditions: str | None = None
    steps: list[Step] = field(default_factory=list)
    priority: str | None = None
    tags: list[str] = field(default_factory=list)
    lifecycle: str = "active"
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> Definition:
        return cls(
            test_id=int(row["id"]),
            description=row["description"],
            preconditions=row["preconditions"],
            steps=[Step(str(s.get("action", "")), str(s.get("expected", ""))) for s in row["steps"] or []],
            priority=row["priority"],
            tags=list(row["tags"] or []),
            lifecycle=row["lifecycle"] or "active",
            updated_at=row["definition_updated_at"],
        )


def _text(name: str, value: object, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters")
    return value.strip() or None


def _steps(value: object) -> list[Step]:
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInput('steps must be a list of {"action", "expected"} objects')
    if len(value) > MAX_STEPS:
        raise InvalidInput(f"a test has at most {MAX_STEPS} steps")
    steps = []
    for n, step in enumerate(value, start=1):
        if not isinstance(step, Mapping):
            raise InvalidInput(f'step {n} must be an object with "action" and "expected"')
        unknown = set(step) - {"action", "expected"}
        if unknown:
            raise InvalidInput(f"step {n} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
        action = _text(f"step {n} action", step.get("action"), MAX_STEP_TEXT)
        if not action:
            raise InvalidInput(f"step {n} needs an action")
        expected = _text(f"step {n} expected", step.get("expected"), MAX_STEP_TEXT) or ""
        steps.append(Step(action, expected))
    return steps


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvalidInput("tags must be a list of strings")
    if len(value) > MAX_TAGS:
        raise InvalidInput(f"a test has at most {MAX_TAGS} tags")
    tags: list[str] = []
    for tag in value:
        if not isinstance(tag, str) or not TAG.match(tag.strip()):
            raise InvalidInput(
                f"tag {tag!r} is not valid: use 1–50 letters, digits or . _ : / + - (no spaces or quotes)"
            )
        if tag.strip() not in tags:
            tags.append(tag.strip())
    return tags


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def validate(test_id: int, fields: Mapping[str, Any]) -> Definition:
    """A definition from untrusted input, or ``InvalidInput`` naming what is wrong."""
    unknown = set(fields) - {"description", "preconditions", "steps", "priority", "tags", "lifecycle"}
    if unknown:
        raise InvalidInput(f"unknown definition fields: {', '.join(sorted(unknown))}")
    return Definition(
        test_id=test_id,
        description=_text("description", fields.get("description")),
        preconditions=_text("preconditions", fields.get("preconditions")),
        steps=_steps(fields.get("steps")),
        priority=_choice("priority", fields.get("priority"), PRIORITIES),
        tags=_tags(fields.get("tags")),
        lifecycle=_choice("lifecycle", fields.get("lifecycle"), LIFECYCLES) or "active",
    )


def _test(conn: Connection, principal: Principal, test_id: int, needed: Role) -> RowMapping:
    row = test_cases.get(conn, test_id)
    if row is None:
        raise NotFound(f"test {test_id} not found")
    principal.require(needed, int(row["project_id"]))
    return row


def get(db: Database, principal: Principal, test_id: int) -> Definition:
    with db.read() as conn:
        return Definition.from_row(_test(conn, principal, test_id, Role.VIEWER))


def save(db: Database, principal: Principal, test_id: int, fields: Mapping[str, Any]) -> Definition:
    """Replace the test's definition (maintainer); fields left out are cleared."""
    with db.write() as conn:
        _test(conn, principal, test_id, EDIT_ROLE)
        new = validate(test_id, fields)
        definitions.save(
            conn,
            test_id,
            {
                "description": new.description,
                "preconditions": new.preconditions,
                "steps": [{"action": s.action, "expected": s.expected} for s in new.steps] or None,
                "priority": new.priority,
                "tags": new.tags or None,
                "lifecycle": new.lifecycle,
                "definition_updated_at": datetime.now(UTC),
            },
        )
        row = test_cases.get(conn, test_id)
        assert row is not None
        return Definition.from_row(row)


def parse_steps_text(text: str) -> list[dict[str, str]]:
    """Steps typed in a form, one per line: ``action => expected result``."""
    steps = []
    for line in text.splitlines():
        if not line.strip():
            continue
        action, _, expected = line.partition("=>")
        steps.append({"action": action.strip(), "expected": expected.strip()})
    return steps


def steps_text(steps: Sequence[Step]) -> str:
    return "\n".join(f"{s.action} => {s.expected}" if s.expected else s.action for s in steps)


def parse_tags_text(text: str) -> list[str]:
    return [t.strip() for t in text.replace("\n", ",").split(",") if t.strip()]
