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


class SketchOnly(Conflict):
    """The version is sketch-only: it has no residues to give out (records, downloads, Croissant files)."""

    code = "sketch_only"


def refuse_without_residues(version, what: str) -> None:
    """Raise :class:`SketchOnly` when ``what`` (e.g. "generating a split") needs residues the version lacks."""
    if getattr(version, "sketch_only", False):
        raise SketchOnly(
            f"{version.ref} is a sketch-only version (sha256, length and MinHash signature per record, no "
            f"residues): {what} needs the sequences to align."
        )


def refuse_sketch_only(version) -> None:
    """Raise :class:`SketchOnly` for a sketch-only version: its records are not downloadable."""
    if getattr(version, "sketch_only", False):
        raise SketchOnly(
            f"{version.ref} is a sketch-only version: it was registered from a .llsk file (sha256, length and "
            "MinHash signature per record) and the registry never had its sequences, so its records cannot be "
            "downloaded. Ask its owner for the data; it can still be checked against (exact and estimated hits)."
        )
