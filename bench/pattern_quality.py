"""Grouping quality of failure patterns on labelled data: BCubed precision, recall and F1.

    .venv/bin/python bench/pattern_quality.py [--data tests/data/patterns/labelled.jsonl] [--json]

Each line of the data is a failure (exception, message, trace) with its ground-truth
cluster. The failures are grouped in file order by the rules ``caserun.analysis.patterns``
applies at ingest (``group``), and scored with BCubed (Bagga & Baldwin 1998; Amigó et al.
2009): for each failure, precision is the share of its pattern that shares its cluster and
recall the share of its cluster that shares its pattern; both are averaged over failures.
Two baselines are measured in the same run: the exact signature alone (no near-duplicate
rule) and the raw ``exception + message`` (no masking, no frames).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from caserun.analysis import patterns, signatures

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "patterns" / "labelled.jsonl"


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    f1: float
    patterns: int
    clusters: int


def bcubed(predicted: Sequence[object], truth: Sequence[object]) -> Score:
    """BCubed precision/recall/F1 of a clustering ``predicted`` against labels ``truth``."""
    pairs = Counter(zip(predicted, truth, strict=True))
    by_pred = Counter(predicted)
    by_true = Counter(truth)
    n = len(truth)
    precision = sum(pairs[(p, t)] / by_pred[p] for p, t in zip(predicted, truth, strict=True)) / n
    recall = sum(pairs[(p, t)] / by_true[t] for p, t in zip(predicted, truth, strict=True)) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(round(precision, 4), round(recall, 4), round(f1, 4), len(by_pred), len(by_true))


def load(path: Path = DATA) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def measure(rows: list[dict[str, object]]) -> dict[str, Score]:
    truth = [str(r["cluster"]) for r in rows]
    sigs = [
        signatures.compute(r["exception"], r["message"], r["trace"])  # type: ignore[arg-type]
        for r in rows
    ]
    return {
        "caserun": bcubed(patterns.group(sigs), truth),
        "exact signature only": bcubed([s.digest for s in sigs], truth),
        "raw exception + message": bcubed([f"{r['exception']}|{r['message']}" for r in rows], truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = load(args.data)
    scores = measure(rows)
    if args.json:
        print(json.dumps({k: asdict(v) for k, v in scores.items()}))
        return
    print(f"{len(rows)} failures, {scores['caserun'].clusters} labelled clusters, threshold {patterns.NEAR_DUPLICATE}")
    print(f"{'grouping':<26}{'patterns':>9}{'precision':>11}{'recall':>8}{'F1':>8}")
    for name, s in scores.items():
        print(f"{name:<26}{s.patterns:>9}{s.precision:>11.3f}{s.recall:>8.3f}{s.f1:>8.3f}")


if __name__ == "__main__":
    main()
