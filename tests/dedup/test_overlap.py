"""find_overlap on real data: FLIP bind's real leak, the main DeepFRI/NetSurfP pair, tiers that do not run."""

import gzip
import shutil

import pytest

from dedup import ParseError, SketchParams, find_overlap, load_calibration
from dedup.mmseqs import MmseqsSettings
from tests.conftest import FIXTURES, shared_data_path
from tests.dedup.test_verify import read_fasta

BIND = FIXTURES / "flip_bind_split"
needs_mmseqs = pytest.mark.skipif(
    shutil.which("mmseqs") is None, reason="mmseqs (Debian mmseqs2) not installed"
)
# GROUND_TRUTH.md, FLIP bind one_vs_many, column A (query coverage >= 80%)
BIND_TRUTH = {1.0: 13, 0.95: 13, 0.9: 13, 0.7: 14, 0.5: 15, 0.3: 18}


@pytest.fixture(scope="module")
def bind_result():
    return find_overlap(BIND / "test.fasta", BIND / "train.fasta", identity=0.9, coverage=0.8)


def test_flip_bind_finds_the_13_exact_duplicates(bind_result):
    r = bind_result
    assert (r.query_count, r.reference_count) == (250, 1110)
    assert r.count(1.0) == 13 and r.count(0.95) == 13 and r.count(0.9) == 13
    assert r.count(0.8) is None  # below the requested identity: not counted, not guessed
    assert all(h.tier == "exact" and h.identity == 1.0 and h.query_coverage == 1.0 for h in r.hits)
    # FLIP's leak: the same UniProt accession on both sides
    assert sorted(h.query for h in r.hits) == sorted(h.reference for h in r.hits)
    assert {"O60895", "Q2VE61", "Q9RY97"} <= {h.query for h in r.hits}
    assert r.tiers["exact"].ran and r.tiers["minhash"].ran
    assert r.tiers["mmseqs"].ran is False and r.tiers["mmseqs"].reason == "not requested"


def test_exact_queries_are_not_searched_again(bind_result):
    minhash = bind_result.tiers["minhash"]
    assert minhash.queries == 250 - 13
    assert minhash.stats["candidates"] >= 0 and minhash.settings["bands"] * minhash.settings["rows"] <= 128


def test_result_carries_method_and_calibration(bind_result):
    d = bind_result.to_dict()
    assert {"summary", "pairs", "method", "calibration"} <= set(d)
    assert d["method"]["sketch_params"]["key"] == "protein:k5:p128:s1:affine32:ll-shingle-v1"
    assert d["method"]["versions"]["biopython"]
    cal = bind_result.calibration
    assert cal["measured"] is True and cal["kind"] == "protein"
    row95 = next(row for row in bind_result.summary if row.threshold == 0.95)
    assert row95.recall == cal["recall"]["exact+minhash+containment"]["0.95"]


def test_shipped_calibration_meets_the_goals():
    cal = load_calibration("protein")
    recall = cal["recall"]["exact+minhash"]
    assert recall["0.95"] >= 0.99 and recall["0.90"] >= 0.97
    assert all(v == 1.0 for v in cal["datasets"][cal["headline"]]["verified"].values())


@needs_mmseqs
@pytest.mark.slow
def test_flip_bind_all_tiers_match_ground_truth_at_every_threshold():
    r = find_overlap(
        BIND / "test.fasta",
        BIND / "train.fasta",
        identity=0.3,
        tiers=("exact", "minhash", "mmseqs"),
        mmseqs_settings=MmseqsSettings(threads=2),
    )
    assert {t: r.count(t) for t in BIND_TRUTH} == BIND_TRUTH
    assert r.tiers["mmseqs"].ran and r.tiers["mmseqs"].version
    assert r.versions["mmseqs"] == r.tiers["mmseqs"].version
    # the 13 exact ones stay with the exact tier; the rest come from mmseqs (k-mers cannot see them)
    assert sum(h.tier == "exact" for h in r.hits) == 13
    assert all(h.identity < 0.9 for h in r.hits if h.tier != "exact")


def test_missing_mmseqs_is_reported_not_fatal(tmp_path):
    r = find_overlap(
        BIND / "test.fasta",
        BIND / "train.fasta",
        tiers=("exact", "mmseqs"),
        mmseqs_settings=MmseqsSettings(executable=str(tmp_path / "mmseqs")),
    )
    assert r.tiers["mmseqs"].ran is False and "not found" in r.tiers["mmseqs"].reason
    assert r.count(1.0) == 13


def test_pairs_as_iterables_and_mappings():
    test = read_fasta(BIND / "test.fasta")
    train = read_fasta(BIND / "train.fasta")
    q = {k: test[k] for k in ("O60895", "Q9KQN0", "P01887")}
    mutant = train["O60895"][:50] + "W" + train["O60895"][51:]
    r = find_overlap(q, [("mutant", mutant), ("P01887", train["P01887"])], identity=0.95)
    got = {h.query: (h.reference, h.tier) for h in r.hits}
    assert got == {"O60895": ("mutant", "minhash"), "P01887": ("P01887", "exact")}
    by_query = {h.query: h for h in r.hits}
    assert 0.5 < by_query["O60895"].jaccard < 1.0 and by_query["P01887"].jaccard is None
    assert by_query["O60895"].identity == pytest.approx(1 - 1 / len(mutant))


def test_dna_reverse_complement_is_found():
    records = read_fasta(FIXTURES / "biopython_fasta" / "lupine.nu")
    ident, seq = next(iter(records.items()))
    rc = seq.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]
    r = find_overlap([("rc", rc[5:])], [(ident, seq)], kind="dna", identity=0.95)
    assert [(h.reference, h.tier) for h in r.hits] == [(ident, "minhash")]
    assert r.hits[0].identity == 1.0 and r.calibration["measured"] is False


def test_text_kind_finds_reworded_sentence():
    ref = [("doc1", "The quick brown fox jumps over the lazy dog near the river bank at dawn today")]
    q = [("q", "the quick brown fox jumps over the lazy dog near the creek bank at dawn today!")]
    r = find_overlap(q, ref, kind="text", identity=0.9, coverage=0.8)
    # 16 words (case and punctuation do not count), one substituted
    assert [(h.reference, h.identity, h.query_coverage) for h in r.hits] == [("doc1", 15 / 16, 1.0)]


def test_bad_arguments_say_how_to_fix():
    with pytest.raises(ValueError, match="tiers"):
        find_overlap([], [], tiers=("exact", "blast"))
    with pytest.raises(ValueError, match="fraction"):
        find_overlap([], [], identity=90)
    with pytest.raises(ValueError, match="params"):
        find_overlap([], [], kind="protein", params=SketchParams("dna", 11))
    with pytest.raises(ParseError, match="'bad'"):
        find_overlap([("bad", "MKV-LL")], [])


@pytest.mark.shared_data
def test_main_pair_agrees_with_ground_truth_within_measured_recall():
    base = shared_data_path()
    r = find_overlap(
        base / "splits/deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta",
        base / "splits/flip-secondary-structure/train.fasta",
        identity=0.9,
        coverage=0.8,
    )
    truth = {}
    with gzip.open(base / "ground-truth/deepfri-go-test_vs_flip-ss-train.hits.m8.gz", "rt") as fh:
        for line in fh:
            f = line.split("\t")
            if float(f[11]) >= 0.8:
                truth[f[0]] = max(truth.get(f[0], 0.0), float(f[2]))
    assert r.count(1.0) == 312  # GROUND_TRUTH.md: exact 312 of 3,416
    cal = r.calibration["recall"]["exact+minhash"]
    for t, key in ((0.95, "0.95"), (0.9, "0.90")):
        truth_t = {q for q, fid in truth.items() if fid >= t}
        found_t = {h.query for h in r.hits if h.identity >= t}
        recall = len(found_t & truth_t) / len(truth_t)
        assert recall >= cal[key] - 0.005
        assert len(found_t & truth_t) / len(found_t) >= 0.99  # what we report, MMseqs2 reports too
    assert len(truth) and all(h.identity >= 0.9 and h.query_coverage >= 0.8 for h in r.hits)
