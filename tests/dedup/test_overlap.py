"""find_overlap on real data: FLIP bind's real leak, the main DeepFRI/NetSurfP pair, tiers that do not run."""

import gzip
import shutil

import pytest

from dedup import ParseError, SketchParams, find_overlap, load_calibration
from dedup.calibration import BINS, band_of
from dedup.method import Method, default_methods
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
    # Work is per distinct sequence: 250 test records hold 248 distinct sequences, 13 of them exact.
    assert minhash.queries == 235
    assert minhash.stats["candidates"] >= 0 and minhash.settings["bands"] * minhash.settings["rows"] <= 128


def test_result_carries_method_and_calibration(bind_result):
    d = bind_result.to_dict()
    assert {"summary", "pairs", "method", "calibration"} <= set(d)
    assert d["method"]["minhash"]["sketch_params"] == "protein:k5:p128:s1:affine32:ll-shingle-v1"
    assert d["method"]["versions"]["biopython"]
    assert d["method"]["key"] == bind_result.method.key() == Method(kind="protein").key()
    cal = bind_result.calibration
    assert cal["measured"] is True and cal["key"] == bind_result.method.key()


def test_claimed_recall_is_the_calibration_of_the_method_key():
    # FLIP bind's test set plus mutants of training proteins at 75-99% identity: hits in several bins.
    train = list(read_fasta(BIND / "train.fasta").items())
    queries = list(read_fasta(BIND / "test.fasta").items())
    for i, (_rid, seq) in enumerate(train[:60]):
        step = 4 + i % 20  # one substitution every 4..23 residues
        queries.append((f"m{i}", "".join("W" if j % step == 0 else c for j, c in enumerate(seq))))
    result = find_overlap(queries, train, identity=0.5)
    entry = load_calibration(result.method)
    assert entry["measured"] is True and entry["method"] == result.method.to_dict()
    assert result.calibration["key"] == result.method.key()
    bins = entry["recall"]["bins"]
    lows = {name: low for name, low, _high in BINS}
    # An outsider's estimator, from claims.py's docstring: identical hits count once (certain),
    # identity-1 fragments by the "100% not identical" recall, the others by their bin's recall.
    for row in result.summary:
        if row.threshold >= 1.0 or row.queries is None:
            continue
        estimated = 0.0
        for h in result.hits:
            if h.identity + 1e-9 < row.threshold:
                continue
            if h.tier == "exact":
                estimated += 1.0
            elif h.identity >= 1.0:
                estimated += 1.0 / bins["100% not identical"]["recall"]
            else:
                name = band_of(h.identity, BINS)
                assert lows[name] + 1e-9 >= row.threshold
                estimated += 1.0 / bins[name]["recall"]
        assert row.estimated == pytest.approx(estimated)
        assert row.recall == pytest.approx(row.queries / estimated)
        low, high = row.recall_interval
        assert low <= row.recall <= high
    assert result.count(0.5) > result.count(0.9) > result.count(1.0) == 13


@pytest.mark.parametrize(
    "settings",
    [{"threshold": 0.9}, {"params": SketchParams("protein", 3, num_perm=16)}, {"coverage": 0.7}],
)
def test_non_default_settings_claim_no_recall(settings):
    r = find_overlap(BIND / "test.fasta", BIND / "train.fasta", **settings)
    assert r.calibration["measured"] is False
    assert r.calibration["note"] == "recall not measured for this method"
    assert r.calibration["nearest_measured"]["key"] != r.method.key()
    assert all(row.recall is None for row in r.summary if row.threshold < 1.0)
    assert r.count(1.0) == 13  # the counts are still there


def test_shipped_calibration_covers_every_default_method():
    for label, method in default_methods():
        entry = load_calibration(method)
        assert entry["measured"], label
        for band, cal in entry["recall"]["bands"].items():
            assert cal["n"] >= (200 if "mmseqs" in method.tiers else 300), (label, band)
            assert cal["low"] <= cal["recall"] <= cal["high"], (label, band)


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
    rows = {row.threshold: row for row in r.summary}
    for t in (0.95, 0.9):
        truth_t = {q for q, fid in truth.items() if fid >= t}
        found_t = {h.query for h in r.hits if h.identity >= t}
        recall = len(found_t & truth_t) / len(truth_t)
        low, high = rows[t].recall_interval
        assert low - 0.02 <= recall <= high + 0.02, (t, recall, rows[t])
        assert len(found_t & truth_t) / len(found_t) >= 0.99  # what we report, MMseqs2 reports too
    assert len(truth) and all(h.identity >= 0.9 and h.query_coverage >= 0.8 for h in r.hits)
