"""Every file in fixtures/odd/ (a copy of ../shared/data/odd/) goes through iter_records: accepted with the right record count, or
rejected with a ParseError naming the file and what is wrong; never another exception."""

import gzip
import random
from pathlib import Path

import pytest

from dedup.errors import ParseError
from dedup.parsing import detect_format, iter_records
from tests.conftest import FIXTURES, shared_data_path

ODD = FIXTURES / "odd"

# relative path -> expected record count, or a substring of the rejection message
EXPECTED = {
    "README.txt": "cannot tell the file format",
    "biopython/Clustalw/kalign.fa": "not in the protein alphabet",
    "biopython/Clustalw/odd_consensus.aln": "unsupported file format",
    "biopython/EMBL/101ma_no_coords.embl": "unsupported file format",
    "biopython/EMBL/AAA03323.embl": "unsupported file format",
    "biopython/EMBL/DD231055_edited.embl": "unsupported file format",
    "biopython/EMBL/TRBG361.embl": "unsupported file format",
    "biopython/EMBL/embl_with_0_line.embl": "unsupported file format",
    "biopython/EMBL/location_wrap.embl": "unsupported file format",
    "biopython/EMBL/xx_after_co.embl": "unsupported file format",
    "biopython/Fasta/README": "cannot tell the file format",
    "biopython/Fasta/aster.pro": 1,
    "biopython/Fasta/aster_blast.pro": 1,
    "biopython/Fasta/aster_no_wrap.pro": 1,
    "biopython/Fasta/aster_pearson.pro": "text before the first record",
    "biopython/Fasta/centaurea.nu": 1,
    "biopython/Fasta/dups.fasta": "first at line 1, again at line 10",
    "biopython/Fasta/elderberry.nu": 1,
    "biopython/Fasta/f001": 1,
    "biopython/Fasta/f002": 3,
    "biopython/Fasta/f003.fa": 2,
    "biopython/Fasta/fa01": "character '-'",
    "biopython/Fasta/flowers.pro.gz": 3,
    "biopython/Fasta/lavender.nu": 1,
    "biopython/Fasta/loveliesbleeding.pro": 1,
    "biopython/Fasta/lupine.nu": 1,
    "biopython/Fasta/nucleotide_lib.fa": "first at line 268, again at line 285",
    "biopython/Fasta/phlox.nu": 1,
    "biopython/Fasta/protein_lib.fa": 12,
    "biopython/Fasta/rose.pro": 1,
    "biopython/Fasta/rosemary.pro": 1,
    "biopython/Fasta/sweetpea.nu": 1,
    "biopython/Fasta/wisteria.nu": 1,
    "biopython/GenBank/1MRR_A.gp": "unsupported file format",
    "biopython/GenBank/NC_000932.faa": 85,
    "biopython/GenBank/NC_005816.faa": 10,
    "biopython/GenBank/NC_005816.ffn": 10,
    "biopython/GenBank/NC_005816.fna": 1,
    "biopython/GenBank/NC_005816.gb": "unsupported file format",
    "biopython/GenBank/NP_416719.gbwithparts": "unsupported file format",
    "biopython/GenBank/bad_loc_wrap.gb": "unsupported file format",
    "biopython/GenBank/bad_origin_wrap.gb": "unsupported file format",
    "biopython/GenBank/bad_origin_wrap_CDS.gb": "unsupported file format",
    "biopython/GenBank/bad_origin_wrap_fuzzy.gb": "unsupported file format",
    "biopython/GenBank/bad_origin_wrap_linear.gb": "unsupported file format",
    "biopython/GenBank/blank_seq.gb": "unsupported file format",
    "biopython/GenBank/cor6_6.gb": "unsupported file format",
    "biopython/GenBank/dbsource_wrap.gb": "unsupported file format",
    "biopython/GenBank/empty_accession.gbk": "unsupported file format",
    "biopython/GenBank/empty_feature_qualifier.gb": "unsupported file format",
    "biopython/GenBank/empty_version.gbk": "unsupported file format",
    "biopython/GenBank/gbvrl1_start.seq": "cannot tell the file format",
    "biopython/GenBank/invalid_locus_line_spacing.gb": "unsupported file format",
    "biopython/GenBank/invalid_misc_feature.gb": "unsupported file format",
    "biopython/GenBank/invalid_product.gb": "unsupported file format",
    "biopython/GenBank/invalid_structured_comment.gb": "unsupported file format",
    "biopython/GenBank/negative_location.gb": "unsupported file format",
    "biopython/GenBank/no_end_marker.gb": "unsupported file format",
    "biopython/GenBank/no_origin_no_end.gb": "unsupported file format",
    "biopython/GenBank/noref.gb": "unsupported file format",
    "biopython/GenBank/one_of.gb": "unsupported file format",
    "biopython/GenBank/origin_line.gb": "unsupported file format",
    "biopython/GenBank/protein_refseq.gb": "unsupported file format",
    "biopython/GenBank/tls_KDHP01000000.gb": "unsupported file format",
    "biopython/GenBank/tsa_acropora.gb": "unsupported file format",
    "biopython/GenBank/wrong_sequence_indent.gb": "unsupported file format",
    "biopython/LICENSE.rst": "cannot tell the file format",
    "biopython/NBRF/DMB_prot.pir": "NBRF/PIR",
    "biopython/NBRF/clustalw.pir": "unsupported file format",
    "biopython/PDB/1A7G.cif": 1,
    "biopython/PDB/1A8O.cif": 1,
    "biopython/PDB/1A8O.pdb": 1,
    "biopython/PDB/1MOM_min.cif": "Bio.PDB cannot read",
    "biopython/PDB/1SSU_mod.cif": 2,
    "biopython/PDB/1SSU_mod.pdb": 2,
    "biopython/PDB/2n0n_M1.pdb": 1,
    "biopython/PDB/3JQH.cif": 1,
    "biopython/PDB/4Q9R_min.cif": "Bio.PDB cannot read",
    "biopython/PDB/a_structure.cif": 1,
    "biopython/PDB/a_structure.pdb": 1,
    "biopython/PDB/alignment_file.fa": "not in the protein alphabet",
    "biopython/PDB/d256ba_.ent": "no atoms",
    "biopython/PDB/disordered.pdb": 1,
    "biopython/PDB/header.pdb": "no atoms",
    "biopython/PDB/ions.pdb": "no protein chain",
    "biopython/PDB/occupancy.pdb": 1,
    "biopython/Quality/error_diff_ids.fastq": "unsupported file format",
    "biopython/Quality/error_double_qual.fastq": "unsupported file format",
    "biopython/Quality/error_double_seq.fastq": "unsupported file format",
    "biopython/Quality/error_long_qual.fastq": "unsupported file format",
    "biopython/Quality/error_no_qual.fastq": "unsupported file format",
    "biopython/Quality/error_qual_del.fastq": "unsupported file format",
    "biopython/Quality/error_qual_escape.fastq": "unsupported file format",
    "biopython/Quality/error_qual_null.fastq": "NUL byte",
    "biopython/Quality/error_qual_space.fastq": "unsupported file format",
    "biopython/Quality/error_qual_tab.fastq": "unsupported file format",
    "biopython/Quality/error_qual_unit_sep.fastq": "unsupported file format",
    "biopython/Quality/error_qual_vtab.fastq": "unsupported file format",
    "biopython/Quality/error_short_qual.fastq": "unsupported file format",
    "biopython/Quality/error_spaces.fastq": "unsupported file format",
    "biopython/Quality/error_tabs.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_at_plus.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_at_qual.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_at_seq.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_in_plus.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_in_qual.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_in_seq.fastq": "unsupported file format",
    "biopython/Quality/error_trunc_in_title.fastq": "unsupported file format",
    "biopython/Quality/example.fasta": 3,
    "biopython/Quality/example.fastq": "unsupported file format",
    "biopython/Quality/example.fastq.bgz": "unsupported file format",
    "biopython/Quality/example.fastq.gz": "unsupported file format",
    "biopython/Quality/example.qual": "Digits are not residues",
    "biopython/Quality/example_dos.fastq": "unsupported file format",
    "biopython/Quality/example_dos.fastq.bgz": "unsupported file format",
    "biopython/Quality/solexa_example.fastq": "unsupported file format",
    "biopython/Quality/tricky.fastq": "unsupported file format",
    "biopython/Quality/wrapping_original_sanger.fastq": "unsupported file format",
    "biopython/Quality/zero_length.fastq": "unsupported file format",
    "biopython/SOURCE_COMMIT.txt": "cannot tell the file format",
    "biopython/SeqXML/corrupt_example1.xml": "unsupported file format",
    "biopython/SeqXML/corrupt_example2.xml": "unsupported file format",
    "biopython/SeqXML/corrupt_example3.xml": "unsupported file format",
    "biopython/SeqXML/protein_example.xml": "unsupported file format",
    "biopython/Stockholm/funny.sth": "unsupported file format",
    "biopython/Stockholm/globins45.ali": "unsupported file format",
    "biopython/Stockholm/simple.sth": "unsupported file format",
    "biopython/SwissProt/P0CK95.txt": "unsupported file format",
    "biopython/SwissProt/multi_ex.fasta": 8,
    "biopython/SwissProt/multi_ex.txt": "unsupported file format",
    "biopython/SwissProt/sp012": "unsupported file format",
    "biopython/SwissProt/sp013": "unsupported file format",
    "biopython/msf/DOA_prot.msf": "unsupported file format",
    "emboss_test/133d.pdb": "found: A: nucleic; B: nucleic",
    "emboss_test/2ins.pdb": "no atoms",
    "emboss_test/ambignuc.fasta": "character 'U' at position 13",
    "emboss_test/ambigprot.fasta": "character '*' at position 27",
    "emboss_test/amir.swiss": "unsupported file format",
    "emboss_test/debian_copyright.txt": "cannot tell the file format",
    "emboss_test/dna.m-fasta-long": "character 'X'",
    "emboss_test/dna.nonewline": "header with no identifier",
    "emboss_test/dnagap.fasta": "character '.' at position 5",
    "emboss_test/dosfile.sth": "Stockholm",
    "emboss_test/featprot.fasta": 1,
    "emboss_test/globins.fasta": 7,
    "emboss_test/hasnull.txt": "NUL byte",
    "emboss_test/intall.fastq": "unsupported file format",
    "emboss_test/ncbi.gifasta": 1,
    "emboss_test/noid.fa": "header with no identifier",
    "emboss_test/opsd.fasta": "not in the protein alphabet",
    "emboss_test/prot.codata": "cannot tell the file format",
    "emboss_test/prot.fasta": 1,
    "emboss_test/prot.gcg": "cannot tell the file format",
    "emboss_test/prot.ig": "cannot tell the file format",
    "emboss_test/prot.m-fasta": 3,
    "emboss_test/prot.nbrf": "unsupported file format",
    "emboss_test/prot.ncbi": 1,
    "emboss_test/prot.swiss": "unsupported file format",
    "emboss_test/prot.text": "cannot tell the file format",
    "emboss_test/protgap.fasta": "character '.' at position 3",
    "emboss_test/seqspace.txt": 1,
    "emboss_test/seqspace2.txt": 1,
    "emboss_test/testids.fasta": "not in the protein alphabet",
    "emboss_test/tropomyosin.fasta": 13,
    "emboss_test/twoglob.fasta": 2,
    "in_the_wild_excerpts/deeploc_setHARD_head20_unwrapped_trailing_space.fasta": 20,
    "in_the_wild_excerpts/dm3_upstream2000_head2_lowercase_dna.fa": 2,
    "in_the_wild_excerpts/flip_bind_head20_digit_labels_as_sequence.fasta": "Digits are not residues",
    "in_the_wild_excerpts/flip_conservation_head20_digit_labels.fasta": "Digits are not residues",
    "in_the_wild_excerpts/flip_ss_sampled_head20_dssp_labels_as_sequence.fasta": 20,
    "in_the_wild_excerpts/hmmer_fn3.sto": "Stockholm",
    "in_the_wild_excerpts/hmmer_globins45.fa": 45,
}


def kind_for(path: Path) -> str:
    """The kind a user would register: nucleotides for .nu/.fna/.ffn and files named for DNA, else protein."""
    name = path.name.lower()
    if name.endswith((".nu", ".fna", ".ffn")) or "dna" in name or "nuc" in name:
        return "dna"
    return "protein"


def odd_files(folder: Path = ODD) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def header_count(path: Path) -> int:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return sum(1 for line in fh if line.startswith(b">"))


@pytest.mark.parametrize("rel", odd_files())
def test_odd_file_is_accepted_with_right_count_or_rejected_clearly(rel):
    path = ODD / rel
    try:
        records = list(iter_records(path, kind=kind_for(path)))
    except ParseError as exc:
        message = str(exc)
        assert message.startswith(str(path)), message
        assert not exc.reason.startswith("unexpected error"), message
        assert exc.hint, f"no advice on what to do: {message}"
        expected = EXPECTED.get(rel)
        if expected is not None:
            assert not isinstance(expected, int), f"{rel} should be accepted, was rejected: {message}"
            assert expected in message
        return
    expected = EXPECTED.get(rel)
    assert not isinstance(expected, str), f"{rel} should be rejected ({expected}), was accepted"
    if expected is not None:
        assert len(records) == expected
    if detect_format(path) == "fasta":
        assert len(records) == header_count(path)
    assert all(r.identifier and r.sequence for r in records)
    assert len({r.identifier for r in records}) == len(records)


def test_expected_table_matches_the_folder():
    assert set(EXPECTED) == set(odd_files())


@pytest.mark.shared_data
def test_the_fixture_copy_is_the_shared_folder_byte_for_byte():
    shared = shared_data_path() / "odd"
    assert odd_files(shared) == odd_files()
    assert all((shared / rel).read_bytes() == (ODD / rel).read_bytes() for rel in odd_files())


@pytest.mark.parametrize(
    "rel",
    [
        "biopython/Fasta/f002",
        "biopython/Fasta/flowers.pro.gz",
        "emboss_test/tropomyosin.fasta",
        "biopython/PDB/1A8O.pdb",
        "biopython/PDB/a_structure.cif",
        "in_the_wild_excerpts/deeploc_setHARD_head20_unwrapped_trailing_space.fasta",
    ],
)
def test_damaged_copies_never_raise_anything_but_parse_error(rel, tmp_path):
    """Truncations and byte flips of real files (fixed seed): accepted or ParseError, nothing else."""
    original = (ODD / rel).read_bytes()
    rng = random.Random(rel)
    suffix = "".join(Path(rel).suffixes)
    for i in range(25):
        data = bytearray(original)
        if i % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"damaged{i}{suffix}"
        path.write_bytes(bytes(data))
        try:
            for _ in iter_records(path, kind="protein"):
                pass
        except ParseError as exc:
            assert str(exc).startswith(str(path))
            assert not exc.reason.startswith("unexpected error"), str(exc)


@pytest.mark.parametrize("rel", ["biopython/PDB/1A8O.cif", "biopython/PDB/a_structure.cif"])
@pytest.mark.parametrize("row", [10, -1])
def test_mmcif_truncated_inside_atom_site_is_refused_like_a_truncated_gzip(rel, row, tmp_path):
    """A download cut off mid-row (last line ``ATOM 1 N``) is not a shorter chain: it is refused."""
    lines = (ODD / rel).read_text().splitlines()
    atoms = [i for i, line in enumerate(lines) if line.startswith("ATOM")]
    cut = atoms[row]
    path = tmp_path / Path(rel).name
    path.write_text("\n".join(lines[:cut] + [" ".join(lines[cut].split()[:3])]) + "\n")
    with pytest.raises(ParseError, match=r"truncated") as info:
        list(iter_records(path, kind="protein"))
    assert "_atom_site" in str(info.value) and info.value.hint


@pytest.mark.parametrize("row", [0, 10, -1])
def test_pdb_truncated_inside_an_atom_record_is_refused(row, tmp_path):
    lines = (ODD / "biopython/PDB/1A8O.pdb").read_text().splitlines()
    atoms = [i for i, line in enumerate(lines) if line.startswith("ATOM")]
    cut = atoms[row]
    path = tmp_path / "1A8O.pdb"
    path.write_text("\n".join(lines[:cut] + [lines[cut][:20]]) + "\n")
    with pytest.raises(ParseError, match=rf"line {cut + 1}: .*truncated"):
        list(iter_records(path, kind="protein"))
