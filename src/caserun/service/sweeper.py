"""Finish launches whose reporter died: the stale-launch sweeper.

A launch stays ``running`` when its reporter is killed (``kill -9``, a lost CI machine):
nothing will ever finish it. Once no case run was created or finished in it, and it did not
start, for ``Settings.inactivity_timeout_s`` (``CASERUN_STALE_AFTER``, default 2 h), the
sweeper finishes it as ``stopped`` through ``launches.close_launch``, the one place a launch
closes, so its still-running case runs end the same way as on any other stop. The launch's
finish time is its last activity, so its duration is not inflated by the hours of silence.

``caserun serve`` sweeps every ``sweep_interval_s`` in a background task; ``caserun db
sweep`` sweeps once. Several server processes may sweep the same database at once: each
launch is claimed with a conditional UPDATE inside the transaction that closes it, so it is
closed exactly once.

The same background task refreshes SQLite's planner statistics every
``PLANNER_STATISTICS_EVERY_S`` (see ``Database.refresh_planner_statistics``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from caserun.domain.model import LaunchStatus
from caserun.errors import CaserunError
from caserun.service.launches import close_launch
from caserun.settings import Settings
from caserun.store import launches, stale_launches
from caserun.store.engine import Database

log = logging.getLogger("caserun.sweeper")

#: launches closed per transaction; the rest wait for the next batch
BATCH = 50
#: how often the background task refreshes SQLite's planner statistics
PLANNER_STATISTICS_EVERY_S = 6 * 3600.0

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StoppedLaunch:
    id: int
    name: str
    last_activity: datetime | None


def sweep(db: Database, stale_after_s: float, *, clock: Clock = _now) -> list[StoppedLaunch]:
    """Finish as ``stopped`` every running launch quiet for ``stale_after_s`` seconds."""
    if stale_after_s <= 0:
        return []
    stopped: list[StoppedLaunch] = []
    skipped: set[int] = set()
    while True:
        now = clock()
        cutoff = now - timedelta(seconds=stale_after_s)
        with db.read() as conn:
            ids = [i for i in stale_launches.quiet_running(conn, cutoff, BATCH + len(skipped)) if i not in skipped]
        if not ids:
            return stopped
        for launch_id in ids[:BATCH]:
            try:
                done = _stop_one(db, launch_id, cutoff, now)
            except CaserunError as exc:  # one launch the rules refuse must not stop the sweep
                log.warning("launch %s could not be stopped: %s", launch_id, exc.message)
                done = None
            if done is None:
                skipped.add(launch_id)  # another process got there first, or it woke up
            else:
                stopped.append(done)


def _stop_one(db: Database, launch_id: int, cutoff: datetime, now: datetime) -> StoppedLaunch | None:
    with db.write() as conn:
        last = stale_launches.last_activity(conn, launch_id)
        if not stale_launches.claim(conn, launch_id, cutoff, now):
            return None
        row = launches.get(conn, launch_id)
        assert row is not None
        close_launch(conn, row, LaunchStatus.STOPPED, at=min(last or now, now))
    log.info("launch %s stopped after %ss without activity", launch_id, int((now - (last or now)).total_seconds()))
    return StoppedLaunch(id=launch_id, name=str(row["name"]), last_activity=last)


@asynccontextmanager
async def background(db: Database, settings: Settings) -> AsyncIterator[None]:
    """Sweep every ``settings.sweep_interval_s`` while the server runs (the first sweep
    after one interval, with a little jitter so several processes spread out). On exit a
    sweep in progress is allowed to finish: its thread still holds a connection."""
    if settings.sweep_interval_s <= 0 or settings.inactivity_timeout_s <= 0:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(_loop(db, settings.sweep_interval_s, settings.inactivity_timeout_s, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def _loop(db: Database, every_s: float, stale_after_s: float, stop: asyncio.Event) -> None:
    analyzed_at = 0.0  # monotonic seconds: the first pass refreshes the statistics
    while True:
        pause = every_s * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not security
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        if stop.is_set():
            return
        try:
            await asyncio.to_thread(sweep, db, stale_after_s)
        except Exception:  # a failed sweep must not take the server down; the next one retries
            log.exception("sweeping stale launches failed")
        if time.monotonic() - analyzed_at >= PLANNER_STATISTICS_EVERY_S:
            analyzed_at = time.monotonic()
            try:
                await asyncio.to_thread(db.refresh_planner_statistics)
            except Exception:  # noqa: BLE001 - statistics are an optimisation; the next pass retries
                log.exception("refreshing planner statistics failed")
