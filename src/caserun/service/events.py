"""Applying batches of live events: launch started, case run started and finished, launch finished.

A batch is one write transaction. Each event gets its own answer, and an event that is
refused (unknown or finished launch, a finish before its start, a bad attachment) changes
nothing while the others still apply.

Launch events are applied one at a time, each in its own savepoint. The case run events
between them, usually nearly all of a batch, are applied as a group
(``service.event_groups``): answered in order as one by one, written in bulk, and applied
one by one only if that write fails.

Client ids make every event idempotent: a launch's client id is stored as its
``idempotency_key`` (``event:<id>``, unique per project), a case run's as its
``client_id`` (unique per launch). A re-sent event is answered ``duplicate`` with the ids
it created the first time. Attempts, summaries and failure patterns are settled once per
batch and launch, not per event.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from caserun.domain.model import Role
from caserun.errors import CaserunError
from caserun.ingest import events
from caserun.service import event_groups
from caserun.service.attachments import AttachmentStore
from caserun.service.auth import Principal
from caserun.service.event_batch import KEY_PREFIX, Batch, Outcome, launch_key
from caserun.service.projects import lookup
from caserun.store.blobs import BlobStore
from caserun.store.engine import Database

__all__ = ["KEY_PREFIX", "Outcome", "apply", "launch_key"]


def apply(
    db: Database,
    blobs: BlobStore,
    principal: Principal,
    project_key: str,
    items: Sequence[tuple[int, events.Event]],
    *,
    base_url: str,
    max_attachment_bytes: int,
) -> list[Outcome]:
    """Apply events (with their positions in the request) in order; one answer each.

    The project and the caller's role are checked once for the whole batch; everything
    else is answered per event."""
    outcomes: list[Outcome] = []
    with db.write() as conn:
        project = lookup(conn, project_key)
        principal.require(Role.REPORTER, project.id)
        batch = Batch(conn, project, AttachmentStore(blobs, {}, max_bytes=max_attachment_bytes), base_url)
        group: list[tuple[int, event_groups.CaseRunEvent]] = []
        for index, event in items:
            if isinstance(event, events.CaseRunStarted | events.CaseRunFinished):
                group.append((index, event))
                continue
            outcomes += _apply_group(batch, group)
            group = []
            outcomes.append(_apply_one(batch, event, index))
        outcomes += _apply_group(batch, group)
        batch.settle_all()
    return outcomes


def _apply_group(batch: Batch, group: Sequence[tuple[int, event_groups.CaseRunEvent]]) -> list[Outcome]:
    """Consecutive case run events: in bulk, or one by one if the bulk write fails."""
    if not group:
        return []
    answers = event_groups.apply(batch, group)
    if answers is not None:
        return answers
    batch.forget()
    return [_apply_one(batch, event, index) for index, event in group]


def _apply_one(batch: Batch, event: events.Event, index: int) -> Outcome:
    """One event in its own savepoint. When another request (a shard starting the same
    launch, a sender re-sending after a timeout) committed the same client id while this
    one ran, the unique index refuses the insert; by then the other row is committed and
    visible, so the event is tried once more and comes back ``duplicate`` (or applies to
    the launch the other request created)."""
    for last_try in (False, True):
        try:
            with batch.conn.begin_nested():
                return batch.handle(event, index)
        except CaserunError as exc:
            batch.forget()
            return Outcome.refused(index, exc)
        except IntegrityError:
            batch.forget()
            if last_try:
                break
    return Outcome(index, 409, "conflict", "recorded concurrently by another request; send it again")
