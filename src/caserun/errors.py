"""The one exception tree of caserun.

::

    CaserunError
    ├── ParseError          a report file is not what its format says (format, file, line)
    ├── InvalidInput        a caller's request is malformed or breaks a rule (422)
    ├── NotFound            an id or key that does not exist (404)
    ├── Conflict            a state transition or uniqueness rule refused (409)
    ├── Unauthenticated     no or wrong credentials (401)
    ├── PermissionDenied    authenticated, but the role is too low (403)
    ├── PayloadTooLarge     an upload or document past a configured limit (413)
    └── ConfigError         the server or CLI is misconfigured

The web layer maps them to HTTP statuses once, in exception handlers; the CLI maps
them to exit code 1 and a one-line message.
"""

from __future__ import annotations


class CaserunError(Exception):
    """Base of every error caserun raises on purpose."""

    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(CaserunError):
    """A report could not be read; names the format, the file and, where known, the line."""

    code = "parse_error"
    status = 422

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        format: str | None = None,
    ) -> None:
        where = file or "<report>"
        if line is not None:
            where = f"{where}:{line}"
        prefix = f"{where}: " if file or line is not None else ""
        fmt = f" ({format})" if format else ""
        super().__init__(f"{prefix}{message}{fmt}")
        self.file = file
        self.line = line
        self.format = format
        self.reason = message


class InvalidInput(CaserunError):
    code = "invalid_input"
    status = 422


class NotFound(CaserunError):
    code = "not_found"
    status = 404


class Conflict(CaserunError):
    code = "conflict"
    status = 409


class Unauthenticated(CaserunError):
    code = "unauthenticated"
    status = 401


class PermissionDenied(CaserunError):
    code = "forbidden"
    status = 403


class PayloadTooLarge(CaserunError):
    code = "payload_too_large"
    status = 413


class ConfigError(CaserunError):
    code = "config_error"
    status = 500
