"""Pages of a sketch-only training set and of its overlap reports: no downloads offered, estimated hits shown."""

import random

import pytest

from dedup.llsk import write_sketch
from dedup.parsing import iter_records
from registry.models import OverlapReport
from registry.services import dataset_version_register
from registry.services.sketch_ingest import sketch_version_register
from tests.conftest import FIXTURES

BIND = FIXTURES / "flip_bind_split"


@pytest.fixture
def sketch_only(db, django_capture_on_commit_callbacks, tmp_path):
    llsk = tmp_path / "private.llsk"
    write_sketch(BIND / "train.fasta", llsk, kind="protein", skip_identical_duplicates=True)
    # The benchmark: FLIP's test set and mutants of training proteins (estimated hits, not only exact ones).
    rng = random.Random(5)
    train = [r.sequence for r in iter_records(BIND / "train.fasta", kind="protein", allow_duplicate_ids=True)]
    parts = [(BIND / "test.fasta").read_text()]
    for i, seq in enumerate(train[:20]):
        residues = list(seq)
        for pos in rng.sample(range(len(residues)), k=len(residues) * (i % 10) // 100):
            residues[pos] = "W" if residues[pos] != "W" else "A"
        parts.append(f">mutant{i}\n{''.join(residues)}\n")
    bench = tmp_path / "bench.fasta"
    bench.write_text("".join(parts))
    with django_capture_on_commit_callbacks(execute=True):
        version = sketch_version_register(path=llsk, dataset_name="private-train", role="training").version
        dataset_version_register(path=bench, dataset_name="bench", kind="protein", role="benchmark")
    return version


def test_the_version_page_offers_no_download(client, sketch_only):
    page = client.get(f"/versions/{sketch_only.ref}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sketch-only version" in text and "Download FASTA" not in text


def test_overlap_pages_show_estimated_hits(client, sketch_only):
    report = OverlapReport.objects.get(reference_set__version=sketch_only)
    assert report.hits.filter(tier="estimated").exists()
    for url in (
        "/overlap/",
        f"/overlap/{report.uuid}/",
        f"/overlap/{report.uuid}/pairs.tsv",
        "/versions/bench@1/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    tsv = b"".join(client.get(f"/overlap/{report.uuid}/pairs.tsv").streaming_content).decode()
    assert "estimated" in tsv
