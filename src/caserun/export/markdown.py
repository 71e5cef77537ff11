"""A launch's summary in GitHub-flavoured Markdown, for a CI job summary
(``$GITHUB_STEP_SUMMARY``) or a pull-request comment.

Text from reports is escaped: Markdown punctuation gets a backslash, ``<``, ``>``, ``&``
and ``@`` become HTML entities (no raw HTML, no ``@mention`` pinging someone from a test
name), and line breaks become spaces (a message cannot break a table or a list).
"""

from __future__ import annotations

import re

from caserun.domain.rules import format_duration
from caserun.export.model import Digest, TestLink

LIST_LIMIT = 10
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}


def escape(text: str | None) -> str:
    flat = _PUNCTUATION.sub(r"\\\1", " ".join((text or "").split()))
    return "".join(_ENTITIES.get(c, c) for c in flat)  # after: an entity's "#" stays bare


def _first_line(text: str | None, limit: int = 200) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:g}%"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _items(links: list[TestLink], total: int, *, with_duration: bool = False) -> list[str]:
    lines = []
    for link in links[:LIST_LIMIT]:
        note = f" — {escape(_first_line(link.note))}" if link.note else ""
        took = f" ({format_duration(link.duration_ms)})" if with_duration else ""
        lines.append(f"- [{escape(link.full_name)}]({link.url}){took}{note}")
    if total > len(lines):
        lines.append(f"- … and {total - len(lines)} more")
    return lines


def summary_markdown(digest: Digest) -> str:
    launch = digest.launch
    s = launch.summary
    icon = "⏳" if launch.status == "running" else ("❌" if s.failed else "✅")
    lines = [
        f"### {icon} {escape(launch.name)} \\#{launch.id}",
        "",
        "| Tests | Passed | Failed | Skipped | Blocked | Pass rate | Duration |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s.total} | {s.passed} | {s.failed} | {s.skipped} | {s.blocked} | {_rate(s.pass_rate)} "
        f"| {format_duration(s.duration_ms)} |",
        "",
    ]
    facts = [
        f"{label}: {escape(value)}"
        for label, value in (("Branch", launch.branch), ("Environment", launch.environment), ("Commit", launch.commit))
        if value
    ]
    if facts:
        lines += [" · ".join(facts), ""]
    if digest.baseline is not None:
        lines += [
            f"Compared with [{escape(digest.baseline.full_name)}]({digest.baseline.url}): "
            f"{_plural(digest.new_failures_count, 'new failure')}, {digest.fixed_count} fixed, "
            f"{digest.still_failing_count} still failing.",
            "",
        ]
    if digest.new_failures_count:
        lines += [f"#### New failures ({digest.new_failures_count})", ""]
        lines += _items(digest.new_failures, digest.new_failures_count) + [""]
    if digest.flaky_count:
        lines += [f"#### Flaky: passed on a retry ({digest.flaky_count})", ""]
        lines += _items(digest.flaky, digest.flaky_count) + [""]
    if digest.slowest:
        lines += ["#### Slowest tests", ""]
        lines += _items(digest.slowest, len(digest.slowest), with_duration=True) + [""]
    lines.append(f"[Open launch \\#{launch.id} in caserun]({launch.url})")
    return "\n".join(lines) + "\n"
