"""A launch as JUnit XML, in the Maven Surefire dialect so that retries survive.

One ``<testsuites>`` holding one ``<testsuite>`` named after the launch; one
``<testcase classname=suite name=name[params]>`` per test (its final attempt). Attempts:

* a test that passed (or was skipped) after failing has its earlier failures as
  ``<flakyFailure>``/``<flakyError>`` children;
* a test whose final attempt failed has its first failure as ``<failure>``/``<error>``
  and each later one as ``<rerunFailure>``/``<rerunError>``;
* ``<failure>`` is used for assertion failures, ``<error>`` for everything else;
  ``blocked`` and ``running`` have no JUnit status and are written as ``<skipped>`` with
  a message saying so.

Written with lxml's incremental ``xmlfile``: one test at a time, never the whole tree.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator

from lxml import etree

from caserun.export.model import AttemptOut, LaunchFacts, TestOut

# XML 1.0 cannot hold most control characters; pytest writes them as "#x1B", as we do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_text(text: str | None) -> str:
    return _CONTROL.sub(lambda m: f"#x{ord(m.group()):02X}", text or "")


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _kind(attempt: AttemptOut) -> str:
    return "failure" if attempt.failure_type in (None, "assertion") else "error"


def _failure_attrs(attempt: AttemptOut) -> dict[str, str]:
    attrs = {"message": _xml_text(attempt.failure_message or "failed")}
    if attempt.failure_exception:
        attrs["type"] = _xml_text(attempt.failure_exception)
    return attrs


def _testcase(xf: etree._IncrementalFileWriter, test: TestOut) -> None:
    final = test.final
    failed = [a for a in test.attempts if a.status == "failed"]
    # the attempt the <testcase> itself describes: the first failure of a failed test
    # (later ones are reruns), else the final attempt (earlier failures were flaky)
    main = failed[0] if final.status == "failed" else final
    attrs = {
        "classname": _xml_text(test.suite),
        "name": _xml_text(test.display_name),
        "time": _seconds(main.duration_ms),
    }
    if test.file:
        attrs["file"] = _xml_text(test.file)
    if test.line:
        attrs["line"] = str(test.line)
    attrs["timestamp"] = main.started_at.isoformat()
    case = etree.Element("testcase", attrs)
    if final.status == "failed":
        outcome = etree.SubElement(case, _kind(main), _failure_attrs(main))
        outcome.text = _xml_text(main.stack_trace)
        for attempt in failed[1:]:
            _extra(case, "rerun", attempt)
    else:
        for attempt in failed:
            _extra(case, "flaky", attempt)
        if final.status != "passed":
            reason = {"blocked": "blocked", "running": "still running when exported"}.get(final.status, "skipped")
            skip_reason = test.metadata.get("skip_reason")
            etree.SubElement(case, "skipped", {"message": _xml_text(str(skip_reason or reason))})
    if main.stdout:
        etree.SubElement(case, "system-out").text = _xml_text(main.stdout)
    if main.stderr:
        etree.SubElement(case, "system-err").text = _xml_text(main.stderr)
    xf.write(case)


def _extra(case: etree._Element, prefix: str, attempt: AttemptOut) -> None:
    tag = prefix + ("Failure" if _kind(attempt) == "failure" else "Error")
    element = etree.SubElement(case, tag, {**_failure_attrs(attempt), "time": _seconds(attempt.duration_ms)})
    etree.SubElement(element, "stackTrace").text = _xml_text(attempt.stack_trace)
    if attempt.stdout:
        etree.SubElement(element, "system-out").text = _xml_text(attempt.stdout)
    if attempt.stderr:
        etree.SubElement(element, "system-err").text = _xml_text(attempt.stderr)


def write_junit(launch: LaunchFacts, tests: Iterable[TestOut]) -> Iterator[bytes]:
    """The report, in chunks of bytes (one per test after the opening tags)."""
    s = launch.summary
    buffer = io.BytesIO()

    def drain() -> bytes:
        data = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return data

    suite_attrs = {
        "name": _xml_text(launch.name),
        "tests": str(s.total),
        "failures": str(s.failed),
        "errors": "0",
        "skipped": str(s.skipped + s.blocked + s.running),
        "time": _seconds(s.duration_ms),
        "timestamp": launch.started_at.isoformat(),
    }
    with etree.xmlfile(buffer, encoding="utf-8") as xf:
        xf.write_declaration()
        with (
            xf.element("testsuites", {"name": _xml_text(launch.name), "tests": str(s.total)}),
            xf.element("testsuite", suite_attrs),
        ):
            properties = etree.Element("properties")
            for key, value in (
                ("caserun.launch_id", str(launch.id)),
                ("caserun.url", launch.url),
                ("environment", launch.environment),
                ("branch", launch.branch),
                ("commit", launch.commit),
            ):
                if value:
                    etree.SubElement(properties, "property", {"name": key, "value": _xml_text(value)})
            xf.write(properties)
            xf.flush()
            yield drain()
            for test in tests:
                _testcase(xf, test)
                xf.flush()
                yield drain()
    yield drain()
