"""Failure signatures and patterns, assigned at ingest. (Filled in by the patterns work.)"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection


def assign(conn: Connection, project_id: int, launch_id: int, case_run_ids: Sequence[int] | None = None) -> None:
    """Give each failed case run (all of the launch's, or the ones named) its signature,
    its pattern and its new-failure flag."""
