"""Shapes of the launch management routes: archive, unarchive, delete."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from caserun.api.schemas import Public


class LaunchArchiveState(Public):
    id: int
    name: str
    archived: bool = Field(description="archived launches leave the default launch list and the baselines")
    archived_at: datetime | None


class LaunchDeleted(Public):
    id: int
    name: str
    project_key: str
    tests: int = Field(description="tests whose statistics were rebuilt without this launch")
