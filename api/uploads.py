"""Uploads streamed straight to disk under ``DATA_DIR/uploads``, with the size limit enforced twice.

Django's default handlers keep small files in memory; this handler never does. It refuses a
request whose ``Content-Length`` is already too large before reading a byte of it, and it counts
the bytes as they arrive (a client may send no length, or a wrong one) and stops at the limit.
Each file lands in its own directory under its own (sanitised) name, so that the registered
version's ``source_filename`` and any validation error name the file the client sent.
"""

import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.text import get_valid_filename

from .exceptions import PayloadTooLarge

# Room for the multipart boundaries and the form's text fields around the file itself.
MULTIPART_SLACK = 1024 * 1024
CHUNK_SIZE = 1024 * 1024


def uploads_dir() -> Path:
    return Path(settings.DATA_DIR) / "uploads"


def max_upload_bytes() -> int:
    return int(settings.LEAKLEDGER["MAX_FILE_BYTES"])


def too_large(size: int | None = None) -> PayloadTooLarge:
    limit = max_upload_bytes()
    what = f"The file ({size:,} bytes)" if size is not None else "The upload"
    return PayloadTooLarge(
        f"{what} is larger than this registry accepts ({limit:,} bytes, LEAKLEDGER_MAX_FILE_BYTES). "
        "Compress it (gzip is read directly) or ask the operator to raise the limit."
    )


def safe_filename(name: str | None) -> str:
    """A file name safe to create on disk, keeping what the client called the file.

    >>> safe_filename("../../etc/passwd"), safe_filename("train set.fasta.gz"), safe_filename("")
    ('passwd', 'train_set.fasta.gz', 'upload')
    """
    base = Path(str(name or "").replace("\\", "/")).name
    try:
        cleaned = _shortened(get_valid_filename(base))
    except Exception:  # Django refuses names that are empty or only dots after cleaning
        cleaned = ""
    return cleaned if cleaned.strip(".") else "upload"


# File systems limit a name to 255 bytes, not characters ("é" is two): keep well inside.
MAX_NAME_BYTES = 200


def _shortened(name: str) -> str:
    """``name`` cut to ``MAX_NAME_BYTES`` of UTF-8, keeping its suffixes (``.fasta.gz`` says the format).

    >>> _shortened("é" * 300 + ".fasta.gz").endswith("é.fasta.gz"), len(_shortened("é" * 300 + ".fa").encode())
    (True, 199)
    """
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    suffix = "".join(Path(name).suffixes[-2:])
    if len(suffix.encode()) > MAX_NAME_BYTES // 4:
        suffix = ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:budget].decode(errors="ignore") + suffix


class StoredUpload(UploadedFile):
    """An uploaded file that is already on disk; ``path`` is where."""

    def __init__(self, path: Path, name: str, content_type: str, size: int, charset=None):
        self.path = path
        super().__init__(open(path, "rb"), name, content_type, size, charset)  # noqa: SIM115 (closed by Django)

    def temporary_file_path(self) -> str:
        return str(self.path)


class StreamingDiskUploadHandler(FileUploadHandler):
    """Write each uploaded file to ``DATA_DIR/uploads/<random>/<name>``; at most one file per request."""

    chunk_size = CHUNK_SIZE

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = max_upload_bytes()
        self.stored: list[Path] = []
        self._handle = None
        self._path: Path | None = None
        self._size = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + MULTIPART_SLACK:
            raise too_large()
        return None

    def new_file(
        self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None
    ):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if self.stored:
            from rest_framework.exceptions import ParseError

            raise ParseError("Send one file per request.")
        directory = uploads_dir() / uuid.uuid4().hex
        directory.mkdir(parents=True, exist_ok=False)
        self._path = directory / safe_filename(file_name)
        self.stored.append(self._path)
        self._handle = open(self._path, "wb")  # noqa: SIM115 (closed in file_complete / cleanup)
        self._size = 0

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.limit:
            self.cleanup()
            raise too_large()
        self._handle.write(raw_data)
        return None

    def file_complete(self, file_size):
        self._handle.close()
        self._handle = None
        return StoredUpload(self._path, self._path.name, self.content_type, self._size, self.charset)

    def upload_interrupted(self):
        self.cleanup()

    def cleanup(self, keep: Path | None = None) -> None:
        """Remove what this request stored, except ``keep`` (the file handed to a job)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        for path in self.stored:
            if keep is not None and path == keep:
                continue
            shutil.rmtree(path.parent, ignore_errors=True)


@contextmanager
def uploads_removed_on_error(request):
    """Remove what this request stored if the block raises.

    ``UploadMixin.finalize_response`` cleans up after every answer DRF makes, errors included, but
    DRF makes no answer for an unexpected exception: this covers that case.
    """
    handler = upload_handler_of(request._request)
    try:
        yield
    except BaseException:
        if handler is not None:
            handler.cleanup()
        raise


def upload_handler_of(request) -> StreamingDiskUploadHandler | None:
    for handler in getattr(request, "upload_handlers", []):
        if isinstance(handler, StreamingDiskUploadHandler):
            return handler
    return None
