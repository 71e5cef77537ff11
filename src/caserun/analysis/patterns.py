"""Failure patterns, assigned at ingest: every failed case run gets its signature, its
pattern and its new-failure flag, and a pattern linked to a defect acts on the defect.

Assignment is incremental: it reads only the launch's failed runs that have no signature
yet, so it is cheap to call after every live batch as well as after an import. Per chunk
of ``CHUNK`` runs it does a fixed number of statements (one read of known signatures, one
read of candidates per new exception type, one insert of new patterns, one executemany
for the runs and one for the pattern counters), whatever the number of failures.

**Near-duplicates.** A signature not yet known is compared with the project's patterns of
the same exception type (the ``CANDIDATES`` most recently seen) whose top frame is the same;
if the masked messages have a token similarity (:func:`signatures.similarity`) of at least
``NEAR_DUPLICATE``, the run joins that pattern instead of starting a new one. Its own
signature is still stored on the run.

**New failure.** A run is a new failure when its pattern was first seen in this launch
(the pattern's example run, its first, belongs to the launch): the first launch that shows
a failure marks all its runs with it, later launches none.

**Defects.** When a run joins a pattern linked to a defect: an open, in-progress or
reopened defect is suggested for the run (read at request time) and, with the project
setting ``auto_link_defects: true``, linked to it (origin ``auto``); a resolved or closed
defect is flagged ``reopen_suggested``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping

from caserun.analysis import signatures
from caserun.analysis.signatures import Signature
from caserun.store import patterns as store
from caserun.store import projects

CHUNK = store.CHUNK
#: token similarity of two masked messages (same exception, same top frame) that makes them one pattern
NEAR_DUPLICATE = 0.8
AUTO_LINK_ACTOR = "caserun (auto-link)"


@dataclass(slots=True)
class _Pattern:
    id: int
    signature: Signature
    defect_id: int | None
    new: bool


def _known(row: RowMapping, launch_id: int) -> _Pattern:
    return _Pattern(
        id=int(row["id"]),
        signature=signatures.parse_template(row["template"]),
        defect_id=row["defect_id"],
        new=row["example_launch_id"] == launch_id,
    )


def nearest(signature: Signature, pool: Sequence[_Pattern]) -> _Pattern | None:
    """The most similar candidate with the same top frame, if similar enough."""
    best: _Pattern | None = None
    best_score = NEAR_DUPLICATE
    for candidate in pool:
        if candidate.signature.top_frame != signature.top_frame:
            continue
        score = signatures.similarity(candidate.signature.message, signature.message)
        if score >= best_score:
            best, best_score = candidate, score
            if score == 1.0:
                break
    return best


#: a failed run, its signature and the signature's digest (a sha256, so computed once)
_Signed = tuple[RowMapping, Signature, str]


def _signed(row: RowMapping, known: Mapping[int, Signature] | None) -> _Signed:
    sig = known.get(int(row["id"])) if known else None
    if sig is None:
        sig = signatures.compute(row["failure_exception"], row["failure_message"], row["stack_trace"])
    return row, sig, sig.digest


class Assigner:
    """Assignment state that lasts across chunks: patterns met so far, candidate pools."""

    def __init__(self, conn: Connection, project_id: int, launch_id: int) -> None:
        self.conn = conn
        self.project_id = project_id
        self.launch_id = launch_id
        row = projects.by_id(conn, project_id)
        settings: dict[str, Any] = (row["settings"] if row is not None else None) or {}
        self.auto_link = bool(settings.get("auto_link_defects"))
        self.memo: dict[str, _Pattern] = {}
        self.pools: dict[str, list[_Pattern]] = {}

    def _pool(self, exception: str) -> list[_Pattern]:
        if exception not in self.pools:
            rows = store.candidates(self.conn, self.project_id, exception or None)
            self.pools[exception] = [_known(r, self.launch_id) for r in rows]
        return self.pools[exception]

    def chunk(self, rows: list[RowMapping], known: Mapping[int, Signature] | None = None) -> None:
        signed = [_signed(row, known) for row in rows]
        groups: dict[str, list[RowMapping]] = defaultdict(list)
        by_digest: dict[str, Signature] = {}
        for row, sig, digest in signed:
            groups[digest].append(row)
            by_digest.setdefault(digest, sig)
        unknown = [d for d in by_digest if d not in self.memo]
        if unknown:
            for found in store.by_signatures(self.conn, self.project_id, unknown):
                self.memo[str(found["signature"])] = _known(found, self.launch_id)
        fresh: list[dict[str, Any]] = []
        for digest, sig in by_digest.items():
            if digest in self.memo:
                continue
            near = nearest(sig, self._pool(sig.exception))
            if near is not None:
                self.memo[digest] = near
                continue
            members = groups[digest]
            fresh.append(
                {
                    "project_id": self.project_id,
                    "signature": digest,
                    "exception": sig.exception or None,
                    "template": sig.template,
                    "example_case_run_id": int(members[0]["id"]),
                    "first_seen": min(r["started_at"] for r in members),
                    "last_seen": max(r["started_at"] for r in members),
                    "count": 0,
                }
            )
            # later signatures of this chunk may be near-duplicates of this one: a placeholder joins the pool
            placeholder = _Pattern(id=0, signature=sig, defect_id=None, new=True)
            self.memo[digest] = placeholder
            self._pool(sig.exception).insert(0, placeholder)
        if fresh:
            store.insert_patterns(self.conn, fresh)
            inserted = {
                str(r["signature"]): r
                for r in store.by_signatures(self.conn, self.project_id, [f["signature"] for f in fresh])
            }
            for digest, row in inserted.items():
                stored = _known(row, self.launch_id)
                placeholder = self.memo[digest]
                placeholder.id, placeholder.defect_id, placeholder.new = stored.id, stored.defect_id, stored.new
        self._write(signed)

    def _write(self, signed: list[_Signed]) -> None:
        run_rows: list[dict[str, Any]] = []
        counts: dict[int, list[Any]] = {}
        for row, _sig, digest in signed:
            pattern = self.memo[digest]
            run_rows.append({"rid": int(row["id"]), "sig": digest, "pid": pattern.id, "new": pattern.new})
            seen = counts.setdefault(pattern.id, [0, row["started_at"], row["started_at"], pattern])
            seen[0] += 1
            seen[1] = min(seen[1], row["started_at"])
            seen[2] = max(seen[2], row["started_at"])
        store.set_run_patterns(self.conn, run_rows)
        store.bump_patterns(
            self.conn,
            [{"pid": pid, "n": n, "first": first, "last": last} for pid, (n, first, last, _) in counts.items()],
        )
        self._defects(run_rows)

    def _defects(self, run_rows: list[dict[str, Any]]) -> None:
        defect_of = {p.id: p.defect_id for p in self.memo.values() if p.defect_id is not None}
        touched = [(defect_of[r["pid"]], r["rid"]) for r in run_rows if r["pid"] in defect_of]
        if not touched:
            return
        status = store.defect_statuses(self.conn, sorted({d for d, _ in touched}))
        now = datetime.now(UTC)
        if self.auto_link:
            store.link_defects(
                self.conn, [(d, r) for d, r in touched if status.get(d) in store.ACTIVE_DEFECT], now, AUTO_LINK_ACTOR
            )
        store.flag_reopen(self.conn, sorted({d for d, _ in touched if status.get(d) in store.DONE_DEFECT}), now)


def assign(
    conn: Connection,
    project_id: int,
    launch_id: int,
    case_run_ids: Sequence[int] | None = None,
    *,
    known: Mapping[int, Signature] | None = None,
    assigner: Assigner | None = None,
) -> Assigner | None:
    """Give each failed case run of the launch that has no signature yet (or only those
    named) its signature, its pattern and its new-failure flag; act on linked defects.

    ``known`` holds signatures computed already (by the process a large report was parsed
    in), by case run id. A caller that assigns a launch's failures a chunk at a time passes
    back the ``assigner`` returned, so that patterns found in one chunk are known in the
    next without reading them again. Named runs are read ``CHUNK`` ids at a time, in id
    order, so any number of them stays within a statement's parameter limit (SQLite's
    default is 32,766)."""
    if case_run_ids is not None:
        named = sorted(case_run_ids)
        for start in range(0, len(named), CHUNK):
            rows = store.unsigned_failures(conn, launch_id, named[start : start + CHUNK], after_id=0, limit=CHUNK)
            if rows:
                assigner = assigner or Assigner(conn, project_id, launch_id)
                assigner.chunk(rows, known)
        return assigner
    after = 0
    while True:
        rows = store.unsigned_failures(conn, launch_id, None, after_id=after, limit=CHUNK)
        if not rows:
            return assigner
        assigner = assigner or Assigner(conn, project_id, launch_id)
        assigner.chunk(rows, known)
        if len(rows) < CHUNK:
            return assigner
        after = int(rows[-1]["id"])


def group(sigs: Sequence[Signature]) -> list[int]:
    """The pattern index of each signature, in order, by the rules ``assign`` applies (exact
    template, else a near-duplicate with the same exception and top frame), without a
    database: what ``bench/pattern_quality.py`` measures."""
    memo: dict[str, _Pattern] = {}
    pools: dict[str, list[_Pattern]] = defaultdict(list)
    out: list[int] = []
    made = 0
    for sig in sigs:
        digest = sig.digest
        found = memo.get(digest) or nearest(sig, pools[sig.exception][: store.CANDIDATES])
        if found is None:
            found = _Pattern(id=made, signature=sig, defect_id=None, new=True)
            made += 1
        else:
            pools[sig.exception].remove(found)
        pools[sig.exception].insert(0, found)  # most recently seen first, as the database orders them
        memo.setdefault(digest, found)
        out.append(found.id)
    return out
