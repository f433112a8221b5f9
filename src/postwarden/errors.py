"""One small error hierarchy for every edge: each error carries a stable ``code``,
the HTTP status it maps to, and a message that says what to do next."""

from __future__ import annotations


class PostwardenError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(PostwardenError):
    code = "invalid_input"
    http_status = 422


class InvalidAddress(InvalidInput):
    code = "invalid_address"


class NotFound(PostwardenError):
    code = "not_found"
    http_status = 404


class PolicyRefused(PostwardenError):
    """The policy forbids the change (for example lifting a complaint without consent)."""

    code = "policy_refused"
    http_status = 409


class Unauthorized(PostwardenError):
    code = "unauthorized"
    http_status = 401


class Conflict(PostwardenError):
    code = "conflict"
    http_status = 409


class DatabaseUnavailable(PostwardenError):
    code = "database_unavailable"
    http_status = 503


class ImportFileInvalid(InvalidInput):
    """A file to import has bad lines; nothing from it was applied."""

    code = "import_invalid"

    def __init__(self, message: str, problems: list[tuple[int, str]]) -> None:
        super().__init__(message, details={"problems": [{"line": n, "problem": p} for n, p in problems]})
        self.problems = problems
