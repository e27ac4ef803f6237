"""Domain errors. Each carries an HTTP status and a code, so the CLI and the API report them alike.

The API's exception handler turns them into ``{"detail", "code", "fields"}``; the CLI prints
``detail`` and exits non-zero.
"""


class RegistryError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, fields: dict | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or {}
        if code:
            self.code = code

    def to_dict(self) -> dict:
        return {"detail": self.detail, "code": self.code, "fields": self.fields}


class InputRejected(RegistryError):
    """The file was rejected by validation; nothing was written."""

    code = "input_rejected"


class NotFound(RegistryError):
    status = 404
    code = "not_found"


class Conflict(RegistryError):
    status = 409
    code = "conflict"


class Immutable(Conflict):
    code = "immutable"


class Forbidden(RegistryError):
    status = 403
    code = "permission_denied"
