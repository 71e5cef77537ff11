"""The HTTP client shared by the CLI and the pytest plugin.

Errors from the server come back as the same exception types the server raised, with
its message, so the CLI prints one line and exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from caserun import __version__
from caserun.errors import (
    CaserunError,
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unauthenticated,
)

_BY_STATUS: dict[int, type[CaserunError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
}


class Unreachable(CaserunError):
    """The server could not be reached, timed out, or failed (5xx): worth trying again later."""

    code = "unreachable"
    status = 503


class Client:
    def __init__(
        self,
        url: str | None,
        token: str | None,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url:
            raise ConfigError("no server: set CASERUN_URL or pass --url")
        if not token:
            raise ConfigError("no token: set CASERUN_TOKEN or pass --token")
        self.base = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": f"caserun/{__version__}"},
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code < 400:
            return response.json() if response.content else None
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}"
        if response.status_code >= 500:
            raise Unreachable(f"{self.base}: {message}")
        raise _BY_STATUS.get(response.status_code, CaserunError)(message)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {self.base}: {exc or type(exc).__name__}") from None
        return self._check(response)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def import_reports(
        self,
        project: str,
        reports: Sequence[tuple[str, IO[bytes]]],
        attachments: Mapping[str, Path],
        fields: Sequence[tuple[str, str]],
        *,
        idempotency_key: str | None = None,
        archives: Collection[str] = (),
    ) -> Any:
        """Post reports as one launch. ``archives`` names the report parts that are zips
        of a report directory (an Allure results directory): the server unpacks them."""
        files: list[tuple[str, tuple[str, IO[bytes]] | tuple[str, IO[bytes], str]]] = [
            ("report", (name, f, "application/zip") if name in archives else (name, f)) for name, f in reports
        ]
        handles = [path.open("rb") for path in attachments.values()]
        try:
            files += [("attachment", (ref, h)) for ref, h in zip(attachments, handles, strict=True)]
            headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
            data: dict[str, list[str]] = {}
            for key, value in [*fields, *(("archive", name) for name in archives)]:
                data.setdefault(key, []).append(value)
            return self.request("POST", f"/api/v1/projects/{project}/imports", files=files, data=data, headers=headers)
        finally:
            for handle in handles:
                handle.close()

    def send_events(self, project: str, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Post a batch of events; one result per event (``status`` < 400 is accepted)."""
        return self.send_event_lines(project, [json.dumps(e) for e in events])

    def send_event_lines(self, project: str, lines: Sequence[str]) -> list[dict[str, Any]]:
        """``send_events`` for events already encoded as JSON (the lines of a spool)."""
        content = ('{"events":[' + ",".join(lines) + "]}").encode()
        body = self.request(
            "POST",
            f"/api/v1/projects/{project}/events",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        results: list[dict[str, Any]] = body["results"]
        return results

    def quarantine(self, project: str) -> list[dict[str, Any]]:
        """The project's quarantined tests (``test_key``, ``full_name``); empty when the
        server has no quarantine feature."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            try:
                page = self.get(f"/api/v1/projects/{project}/quarantine", cursor=cursor)
            except NotFound:
                return items
            items += page.get("items", [])
            cursor = page.get("next")
            if not cursor:
                return items
