"""Domain errors raised by services. The API's exception handler turns each into the JSON error
shape with its HTTP status; the admin shows its detail as a form error."""


class DomainError(Exception):
    """A business rule refused the operation. Nothing was written."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, errors: dict | None = None, extra: dict | None = None, code: str = ""):
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.errors = errors or {}
        self.extra = extra or {}


def field_error(field: str, message: str, code: str = "") -> DomainError:
    """A refusal that concerns one input field."""
    return DomainError(message, errors={field: [message]}, code=code)


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InsufficientPoints(DomainError):
    code = "insufficient_points"


class MemberSuspended(Conflict):
    code = "member_suspended"
