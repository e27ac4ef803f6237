"""The streamed multipart body and the progress lines, without a server."""

import email.parser
import email.policy
import io

from leakledger_client.progress import Progress
from leakledger_client.transport import MultipartStream

from tests.conftest import FIXTURES


def test_the_streamed_body_is_valid_multipart_whatever_the_read_size():
    path = FIXTURES / "flip_bind_split" / "test.fasta"
    seen = []
    whole = MultipartStream([("kind", "protein"), ("role", "benchmark")], [("file", path)])
    body = whole.read(-1) + whole.read(-1)
    pieces = MultipartStream(
        [("kind", "protein"), ("role", "benchmark")],
        [("file", path)],
        on_progress=lambda d, t: seen.append((d, t)),
    )
    chunks = iter(lambda: pieces.read(777), b"")
    assert b"".join(chunks).replace(pieces.boundary.encode(), whole.boundary.encode()) == body
    assert len(body) == len(whole) == len(pieces) and seen[-1] == (len(body), len(body))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {whole.content_type}\r\n\r\n".encode() + body
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["kind"].get_content() == "protein" and parts["role"].get_content() == "benchmark"
    assert parts["file"].get_filename() == "test.fasta" and parts["file"].get_content() == path.read_bytes()


def test_progress_is_silent_for_short_work_and_periodic_for_long_work():
    stream = io.StringIO()
    quick = Progress("upload x", stream=stream, interval=60)
    quick.update(10, 100, "sending")
    quick.close()
    assert stream.getvalue() == ""
    slow = Progress("ingest x", stream=stream, interval=0)
    slow.update(5, 20, "parse")
    assert stream.getvalue().startswith("ingest x: parse 5/20 records (")
    silent = Progress("x", enabled=False, stream=stream, interval=0)
    silent.update(1, 2, "y")
    assert stream.getvalue().count("\n") == 1
