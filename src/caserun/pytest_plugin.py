"""``pytest --caserun``: every test reported live to a caserun server as it runs.

Turn it on with ``--caserun`` (or ``caserun = true`` in the ini file) and point it at a
server with ``CASERUN_URL``, ``CASERUN_TOKEN`` and ``CASERUN_PROJECT`` (or
``--caserun-url``, ``--caserun-project`` and the ini options ``caserun_url``,
``caserun_project``, ``caserun_token``; the environment beats the ini file, so a token
kept in a CI secret wins over one written down). What it does:

* **The launch.** At session start a ``launch.started`` event creates a launch (source
  ``pytest``) named by ``--caserun-launch-name``, with attributes from ``--caserun-attr
  K=V``, the Python version and the platform; ``CASERUN_ENVIRONMENT``, ``CASERUN_BRANCH``,
  ``CASERUN_COMMIT`` and ``CASERUN_BUILD_URL`` fill in the rest. At session end it is
  finished: ``stopped`` after Ctrl-C, ``failed`` after an internal error or collection
  errors, else ``completed``. With ``CASERUN_LAUNCH`` the session *joins* a launch
  instead: a number is a launch's server id (``caserun run`` exports it), any other text
  a client id that several shards share (the first to arrive creates it). A joined
  launch is left running for whoever owns it to finish.
* **Each test** is ``case_run.started`` at its setup and ``case_run.finished`` after its
  teardown, with the outcome, the duration of all phases, the failure (message,
  exception type, traceback), captured stdout, stderr and log, the markers, the
  parameters, the node id, file and line, and metadata (Python, platform, xdist worker,
  the ``--caserun-attr`` attributes).
* **Phases** are combined as pytest's junitxml does: a setup or teardown error fails the
  test with a failure of type ``error``; a teardown error after a pass is the same test
  failing, not a second result, and its message is kept as ``teardown_error``.
* **xfail**: an expected failure is ``skipped`` with metadata ``xfail=true`` and the
  reason; a strict unexpected pass (``XPASS(strict)``) is ``failed``; a non-strict one is
  ``passed`` with ``xpass=true``.
* **Reruns** (pytest-rerunfailures): each run of a test is an attempt of the same case
  run, so "passed on retry" is recorded.
* **pytest-xdist**: the reporter exists only on the controller; workers only add
  markers, parameters and attachments to their reports.
* **Attachments**: the ``caserun_attach(path_or_bytes, name=..., content_type=...)``
  fixture adds a file or bytes to the running test's case run.
* **Never in the way.** Events are batched and sent by a background thread
  (``caserun.sender``). When the server is slow or down they go to a spool file
  (``--caserun-spool``, default ``.caserun/spool-<id>.jsonl`` under the rootdir) and are
  retried; whatever the server never took stays there, and the terminal summary says how
  to upload it (``caserun upload <spool> --project KEY``). Refused events are reported
  once, in the summary. The session's outcome is never changed by the reporter, except:
* **Quarantine**: with ``--caserun-quarantine`` the project's quarantined tests are
  fetched at start; when every failure belongs to one, the session exits 0 and the summary
  lists them. A server without the quarantine feature means an empty list.
* ``--caserun-jsonl PATH`` writes the same events to PATH (line-buffered JSON Lines), with
  or without a server; ``caserun upload PATH --project KEY`` sends them later.

This module imports only pytest and the standard library; the rest is imported when the
reporter is switched on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import platform
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

from caserun.pytest_reports import Attempt, failure_of, iso, short, split_nodeid

if TYPE_CHECKING:
    from caserun.client import Client
    from caserun.domain.identity import Identity
    from caserun.sender import Report, Sender

MAX_ATTACHMENT_BYTES = 20 * 1024**2


@dataclass(frozen=True)
class Options:
    send: bool
    url: str | None
    token: str | None
    project: str | None
    launch: str | None
    launch_name: str | None
    environment: str | None
    attrs: dict[str, str]
    jsonl: Path | None
    spool: Path | None
    quarantine: bool
    interval: float
    timeout: float


enabled_key = pytest.StashKey[bool]()
reporter_key = pytest.StashKey["CaserunReporter"]()
attachments_key = pytest.StashKey[list[dict[str, Any]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("caserun", "caserun: report results live to a caserun server")
    group.addoption("--caserun", action="store_true", default=False, help="report this session to caserun.")
    group.addoption("--caserun-url", metavar="URL", help="the caserun server (env CASERUN_URL).")
    group.addoption("--caserun-project", metavar="KEY", help="the project to report to (env CASERUN_PROJECT).")
    group.addoption(
        "--caserun-launch-name", metavar="NAME", help="the launch's name (env CASERUN_LAUNCH_NAME), e.g. 'CI #12'."
    )
    group.addoption("--caserun-environment", metavar="ENV", help="the launch's environment (env CASERUN_ENVIRONMENT).")
    group.addoption(
        "--caserun-attr", action="append", default=[], metavar="K=V", help="a launch attribute (repeatable)."
    )
    group.addoption("--caserun-jsonl", metavar="PATH", help="also write the events to PATH (JSON Lines).")
    group.addoption("--caserun-spool", metavar="PATH", help="where undelivered events are kept.")
    group.addoption(
        "--caserun-quarantine",
        action="store_true",
        default=False,
        help="failures of quarantined tests do not fail the session.",
    )
    parser.addini("caserun", "report every session to caserun", type="bool", default=False)
    parser.addini("caserun_url", "the caserun server URL", default="")
    parser.addini("caserun_project", "the caserun project key", default="")
    parser.addini("caserun_token", "the reporter token (prefer env CASERUN_TOKEN)", default="")
    parser.addini("caserun_launch_name", "the launch name", default="")
    parser.addini("caserun_environment", "the launch environment", default="")
    parser.addini("caserun_attrs", "launch attributes, K=V per line", type="linelist", default=[])
    parser.addini("caserun_jsonl", "write the events to this JSON Lines file", default="")
    parser.addini("caserun_spool", "where undelivered events are kept", default="")
    parser.addini("caserun_quarantine", "failures of quarantined tests do not fail the session", type="bool")
    parser.addini("caserun_batch_interval", "seconds an event may wait to be sent with others", default="0.5")
    parser.addini("caserun_timeout", "seconds allowed at session end to send what is left", default="10")


def _pick(config: pytest.Config, option: str, env: str | None, ini: str) -> str | None:
    value = config.getoption(option)
    if value:
        return str(value)
    if env and os.environ.get(env):
        return os.environ[env]
    from_ini = config.getini(ini)
    return str(from_ini) if from_ini else None


def _number(config: pytest.Config, ini: str, default: float) -> float:
    try:
        return float(config.getini(ini))
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini option {ini} must be a number of seconds") from None


def read_options(config: pytest.Config) -> Options:
    attrs: dict[str, str] = {}
    for item in [*config.getini("caserun_attrs"), *config.getoption("caserun_attr")]:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"--caserun-attr {item!r} is not K=V")
        attrs[key.strip()] = value.strip()
    jsonl = _pick(config, "caserun_jsonl", None, "caserun_jsonl")
    spool = _pick(config, "caserun_spool", "CASERUN_SPOOL", "caserun_spool")
    return Options(
        send=bool(config.getoption("caserun") or config.getini("caserun")),
        url=_pick(config, "caserun_url", "CASERUN_URL", "caserun_url"),
        token=os.environ.get("CASERUN_TOKEN") or str(config.getini("caserun_token")) or None,
        project=_pick(config, "caserun_project", "CASERUN_PROJECT", "caserun_project"),
        launch=os.environ.get("CASERUN_LAUNCH") or None,
        launch_name=_pick(config, "caserun_launch_name", "CASERUN_LAUNCH_NAME", "caserun_launch_name"),
        environment=_pick(config, "caserun_environment", "CASERUN_ENVIRONMENT", "caserun_environment"),
        attrs=attrs,
        jsonl=Path(jsonl) if jsonl else None,
        spool=Path(spool) if spool else None,
        quarantine=bool(config.getoption("caserun_quarantine") or config.getini("caserun_quarantine")),
        interval=_number(config, "caserun_batch_interval", 0.5),
        timeout=_number(config, "caserun_timeout", 10.0),
    )


def pytest_configure(config: pytest.Config) -> None:
    options = read_options(config)
    enabled = options.send or options.jsonl is not None
    config.stash[enabled_key] = enabled
    if not enabled or hasattr(config, "workerinput"):
        return  # off, or an xdist worker: the controller reports
    reporter = CaserunReporter(config, options)
    config.stash[reporter_key] = reporter
    config.pluginmanager.register(reporter, "caserun-reporter")


def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.stash.get(reporter_key, None)
    if reporter is not None:
        reporter.close()
        if not reporter.summary_shown:  # no terminal summary (internal error, -p no:terminal)
            for line in reporter.summary_lines():
                sys.stderr.write(line + "\n")
        del config.stash[reporter_key]
        config.pluginmanager.unregister(reporter)
        reporter.release_sigterm()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On every process (xdist workers too): carry what only the item knows on the report."""
    report = yield
    if item.config.stash.get(enabled_key, False):
        files = item.stash.get(attachments_key, None)
        if files:
            report.caserun_attachments = files  # type: ignore[attr-defined]
            item.stash[attachments_key] = []
        if call.when == "setup":
            report.caserun_meta = _item_metadata(item)  # type: ignore[attr-defined]
    return report


def _item_metadata(item: pytest.Item) -> dict[str, str]:
    meta: dict[str, str] = {}
    markers = sorted({m.name for m in item.iter_markers()} - {"parametrize", "usefixtures", "filterwarnings"})
    if markers:
        meta["markers"] = ", ".join(markers)
    callspec = getattr(item, "callspec", None)
    for name, value in getattr(callspec, "params", {}).items():
        meta[f"param.{name}"] = short(repr(value), 500)
    return meta


@pytest.fixture
def caserun_attach(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Attach a file (a path) or bytes to the running test's case run:
    ``caserun_attach(path_or_bytes, name=None, content_type=None)``. A no-op when caserun
    reporting is off; files over 20 MiB are left out (the summary says so)."""

    def attach(data: str | os.PathLike[str] | bytes, name: str | None = None, content_type: str | None = None) -> None:
        if not request.config.stash.get(enabled_key, False):
            return
        if isinstance(data, bytes):
            payload, label = data, name or "attachment"
        else:
            path = Path(data)
            payload, label = path.read_bytes(), name or path.name
        entry: dict[str, Any] = {"name": label[:500]}
        kind = content_type or mimetypes.guess_type(label)[0]
        if kind:
            entry["content_type"] = kind
        if len(payload) > MAX_ATTACHMENT_BYTES:
            entry["too_large"] = len(payload)
        else:
            entry["data"] = base64.b64encode(payload).decode("ascii")
        request.node.stash.setdefault(attachments_key, []).append(entry)

    return attach


class CaserunReporter:
    """Turns pytest's reports into caserun events; lives on the xdist controller only."""

    def __init__(self, config: pytest.Config, options: Options) -> None:
        self.config = config
        self.options = options
        self.uid = uuid.uuid4().hex
        self.launch_ref: dict[str, Any]
        self.joined = options.launch is not None
        if options.launch and options.launch.isdigit():
            self.launch_ref = {"launch_id": int(options.launch)}
        else:
            self.launch_ref = {"launch": options.launch or f"pytest-{self.uid}"}
        self.launch_attrs = {"python": platform.python_version(), "platform": platform.platform(), **options.attrs}
        self.base_meta = dict(self.launch_attrs)
        if options.environment:
            self.base_meta["environment"] = options.environment
        self.current: dict[str, Attempt] = {}
        self.attempts: dict[str, int] = {}
        self.failed: dict[str, bool] = {}
        self.quarantine_keys: set[str] = set()
        self.quarantined_failures: list[str] = []
        self.notes: list[str] = []
        self.too_large: list[str] = []
        self.interrupted = False
        self.terminated = False
        self._sigterm: Any = None
        self.internal_error = False
        self.events = 0
        self.report: Report | None = None
        self.summary_shown = False
        self.jsonl: IO[str] | None = None
        self.sender: Sender | None = None
        self.spool_path: Path | None = None
        self.closed = False
        self.client: Client | None = None
        self._identify: Callable[[str, str], Identity] | None = None
        if options.jsonl is not None:
            options.jsonl.parent.mkdir(parents=True, exist_ok=True)
            self.jsonl = options.jsonl.open("w", encoding="utf-8", buffering=1, newline="\n")

    # sending

    def emit(self, event: dict[str, Any]) -> None:
        line = json.dumps({**event, **self.launch_ref} if event["type"] != "launch.started" else event)
        self.events += 1
        if self.jsonl is not None:
            self.jsonl.write(line + "\n")
        if self.sender is not None:
            self.sender.put(line)

    def _launch_started(self) -> dict[str, Any]:
        env = os.environ
        event: dict[str, Any] = {
            "type": "launch.started",
            "launch": self.launch_ref.get("launch"),
            "source": "pytest",
            "name": self.options.launch_name,
            "environment": self.options.environment,
            "branch": env.get("CASERUN_BRANCH"),
            "commit": env.get("CASERUN_COMMIT"),
            "build_url": env.get("CASERUN_BUILD_URL"),
            "attributes": self.launch_attrs,
            "started_at": iso(time.time()),
            "join": self.joined or None,
        }
        return {k: v for k, v in event.items() if v is not None}

    def _start_sender(self, header: str | None) -> None:
        from caserun.client import Client
        from caserun.errors import ConfigError
        from caserun.sender import Sender, Spool

        options = self.options
        client: Client | None = None
        problem = None
        try:
            if not options.project:
                raise ConfigError("no project: set CASERUN_PROJECT or pass --caserun-project")
            client = Client(options.url, options.token, timeout=10.0)
        except ConfigError as exc:
            problem = exc.message

        def deliver(lines: Sequence[str]) -> list[dict[str, Any]]:
            if client is None:
                raise ConfigError(str(problem))
            assert options.project is not None
            return client.send_event_lines(options.project, lines)

        self.client = client
        if options.quarantine:
            self._fetch_quarantine()
        self.spool_path = options.spool or self.config.rootpath / ".caserun" / f"spool-{self.uid[:12]}.jsonl"
        if options.spool is None:
            _ignore_folder(self.spool_path.parent)
        self.sender = Sender(deliver, Spool(self.spool_path, header), interval=options.interval)
        self.sender.start()

    def _fetch_quarantine(self) -> None:
        from caserun.client import Client
        from caserun.domain import identity
        from caserun.errors import CaserunError

        if self.client is None or not self.options.project:
            return
        try:
            with Client(self.options.url, self.options.token, timeout=5.0) as client:
                items = client.quarantine(self.options.project)
        except CaserunError as exc:
            self.notes.append(f"could not read the quarantine list ({exc.message}); no test is quarantined")
            return
        for item in items:
            for key in ("test_key", "full_name"):
                if item.get(key):
                    self.quarantine_keys.add(str(item[key]))
        self._identify = identity.identify

    def is_quarantined(self, nodeid: str) -> bool:
        if not self.quarantine_keys or self._identify is None:
            return False
        ident = self._identify(*split_nodeid(nodeid))
        return ident.key in self.quarantine_keys or ident.full_name in self.quarantine_keys

    # pytest hooks

    def _catch_sigterm(self) -> None:
        """CI cancels a job with SIGTERM, which would kill pytest on the spot and leave the
        launch running for ever. Unless someone else handles SIGTERM, it stops the session
        as Ctrl-C does (the launch is ``stopped`` and what is pending is sent), and the
        process then dies of the same SIGTERM, so the caller sees what it expects."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        self._sigterm = signal.SIG_DFL

        def on_sigterm(signum: int, frame: object) -> None:
            self.terminated = True
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the sending short
            raise KeyboardInterrupt("SIGTERM")

        signal.signal(signal.SIGTERM, on_sigterm)

    def release_sigterm(self) -> None:
        """Give SIGTERM back; after a SIGTERM, die of it now that the launch is recorded."""
        if self._sigterm is None:
            return
        signal.signal(signal.SIGTERM, self._sigterm)
        self._sigterm = None
        if self.terminated:
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGTERM)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._catch_sigterm()
        started = self._launch_started()
        header = None
        if "launch" in self.launch_ref:
            header = json.dumps(started)
        if self.options.send:
            self._start_sender(header)
        if "launch" in self.launch_ref:
            self.emit(started)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self._finish_attempt(nodeid)
        number = self.attempts.get(nodeid, 0) + 1
        self.attempts[nodeid] = number
        digest = hashlib.sha256(nodeid.encode()).hexdigest()[:24]
        self.current[nodeid] = Attempt(nodeid, number, f"{self.uid[:12]}-{digest}-{number}", location)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        attempt = self.current.get(report.nodeid)
        if attempt is None:
            self.pytest_runtest_logstart(report.nodeid, report.location)
            attempt = self.current[report.nodeid]
        attempt.add(report)
        if not attempt.started:
            attempt.started = True
            attempt.started_at = getattr(report, "start", None)
            self.emit(attempt.started_event(self.base_meta))
        if report.when not in ("setup", "call"):  # teardown, or xdist's "???" for a crashed worker
            attempt.finished_at = getattr(report, "stop", None)
            self._finish_attempt(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self._finish_attempt(nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        digest = hashlib.sha256(report.nodeid.encode()).hexdigest()[:24]
        failure = failure_of(report, "error", "collection failure: ")
        suite, name = split_nodeid(report.nodeid or "<session>")
        self.emit(
            {
                "type": "case_run.finished",
                "id": f"{self.uid[:12]}-{digest}-collect",
                "status": "failed",
                "test": {"suite": suite, "name": name or "<collection>", "file": report.fspath},
                "failure": failure,
                "metadata": {**self.base_meta, "phase": "collect"},
            }
        )
        self.failed[report.nodeid] = True

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # collection errors stop the session with ``Session.Interrupted``: not a person's Ctrl-C
        if not excinfo.errisinstance(pytest.Session.Interrupted):
            self.interrupted = True

    def pytest_internalerror(self, excrepr: object, excinfo: object) -> None:
        self.internal_error = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
        for nodeid in list(self.current):
            if self.current[nodeid].status is not None:
                self._finish_attempt(nodeid)
        self._apply_quarantine(session, int(exitstatus))
        if not self.joined:
            if self.interrupted:
                status = "stopped"
            elif self.internal_error or exitstatus in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED):
                status = "failed"
            else:
                status = "completed"
            self.emit({"type": "launch.finished", "status": status, "finished_at": iso(time.time())})
        self.close()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.summary_lines()
        if lines:
            terminalreporter.write_sep("-", "caserun")
            for line in lines:
                terminalreporter.write_line(line)
        self.summary_shown = True

    # the pieces

    def _finish_attempt(self, nodeid: str) -> None:
        attempt = self.current.pop(nodeid, None)
        if attempt is None or not attempt.started:
            return
        self.too_large += attempt.too_large
        self.failed[nodeid] = attempt.status == "failed"
        if attempt.status == "failed" and self.is_quarantined(nodeid):
            attempt.metadata["quarantined"] = "true"
        self.emit(attempt.finished_event(self.base_meta))

    def _apply_quarantine(self, session: pytest.Session, exitstatus: int) -> None:
        failing = sorted(nodeid for nodeid, failed in self.failed.items() if failed)
        if not self.quarantine_keys or not failing:
            return
        self.quarantined_failures = [n for n in failing if self.is_quarantined(n)]
        if exitstatus == pytest.ExitCode.TESTS_FAILED and len(self.quarantined_failures) == len(failing):
            session.exitstatus = pytest.ExitCode.OK

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.sender is not None:
            # after SIGTERM the CI runner kills for good in a few seconds
            timeout = min(self.options.timeout, 5.0) if self.terminated else self.options.timeout
            self.report = self.sender.close(timeout)
        if self.jsonl is not None:
            self.jsonl.close()

    def summary_lines(self) -> list[str]:
        lines = [f"caserun: {note}" for note in self.notes]
        report = self.report
        if report is not None and report.launch_url:
            lines.append(f"caserun: launch {report.launch_id}: {report.launch_url} ({report.sent} events sent)")
        if self.quarantined_failures:
            lines.append(
                f"caserun: {len(self.quarantined_failures)} failing quarantined tests did not fail the session:"
            )
            lines += [f"    {nodeid}" for nodeid in self.quarantined_failures]
        if report is not None and report.refused:
            lines.append(f"caserun: the server refused {sum(report.refused.values())} events:")
            lines += [f"    {reason}" + (f" ({n}×)" if n > 1 else "") for reason, n in report.refused.most_common(5)]
        if self.too_large:
            lines.append(f"caserun: attachments over {MAX_ATTACHMENT_BYTES // 1024**2} MiB were left out:")
            lines += [f"    {item}" for item in self.too_large[:5]]
        if report is not None and report.spool is not None:
            where = _display(report.spool)
            lines.append(f"caserun: {report.problem or 'events were not delivered'}")
            lines.append(f"caserun: {report.spooled} events were kept in {where}; upload them with:")
            lines.append(f"    caserun upload {where} --project {self.options.project or 'KEY'}")
        elif report is not None and report.outages:
            lines.append("caserun: the server was unreachable for a while; every event was delivered when it came back")
        if self.options.jsonl is not None:
            lines.append(f"caserun: {self.events} events written to {_display(self.options.jsonl)}")
        return lines


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _ignore_folder(folder: Path) -> None:
    """Keep the spool folder out of version control, as pytest does with its cache."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by caserun's pytest plugin\n*\n")
    except OSError:
        pass
