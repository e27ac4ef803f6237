"""dedup.parsing: normalisation, alphabets, formats, and every hostile input named in issue 2.

Each rejection test checks that the message names the file, the line and the record where they apply,
and says what to do.
"""

import bz2
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from Bio.SeqIO.FastaIO import SimpleFastaParser

from dedup.errors import DedupError, InvalidSequenceError, ParseError
from dedup.parsing import (
    ALPHABETS,
    FORMATS,
    KINDS,
    ParsedRecord,
    ParseLimits,
    detect_format,
    iter_records,
    normalise,
    sequence_sha256,
    validate,
)
from tests.conftest import FIXTURES, shared_data_path

SHARED = shared_data_path()
ODD = FIXTURES / "odd"  # a copy of ../shared/data/odd (fixtures/README.txt)
SPLITS = SHARED / "splits"
FIX = FIXTURES  # the repository's copies of small real files (../shared/data/fixtures)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def parse(path, kind="protein", **kw) -> list[ParsedRecord]:
    return list(iter_records(path, kind=kind, **kw))


def rejection(path, kind="protein", **kw) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(path, kind, **kw)
    exc = info.value
    assert str(exc).startswith(f"{path}"), str(exc)
    assert exc.hint, "every rejection says what to do"
    return exc


# -- contract -----------------------------------------------------------------------------------------


def test_contract_constants():
    assert KINDS == ("protein", "dna", "rna", "text")
    assert FORMATS == ("fasta", "csv", "tsv", "jsonl", "pdb", "mmcif")
    assert ParseLimits() == ParseLimits(4 * 1024**3, 16 * 1024**3, 1_000_000)
    assert issubclass(ParseError, DedupError) and issubclass(ParseError, ValueError)


def test_parse_error_message_and_dict():
    exc = ParseError("bad thing", hint="Do this.", path="x.fa", line=4, record="r1")
    assert str(exc) == "x.fa, line 4, record 'r1': bad thing. Do this."
    assert exc.to_dict() == {
        "file": "x.fa",
        "line": 4,
        "record": "r1",
        "reason": "bad thing",
        "hint": "Do this.",
        "message": "x.fa, line 4, record 'r1': bad thing. Do this.",
    }
    assert str(ParseError("bad", path="x.fa")) == "x.fa: bad."


def test_import_does_not_pull_django():
    code = "import sys, dedup.parsing, dedup.formats.fasta, dedup.formats.tabular; assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


# -- normalise and validate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("mkv lla\r\n*", "protein", "MKVLLA"),
        ("MK*", "protein", "MK"),
        ("acgtn\n", "dna", "ACGTN"),
        ("acgu", "rna", "ACGU"),
        ("ACGT", "rna", "ACGU"),  # T read as U, so both spellings share a digest
        ("acgu", "dna", "ACGU"),  # U is kept; validate() rejects it for DNA
        ("  Hello\t  World \n", "text", "Hello World"),
        ("Cafe\u0301", "text", "Caf\u00e9"),  # NFC
    ],
)
def test_normalise(raw, kind, expected):
    assert normalise(raw, kind) == expected


def test_normalise_uppercases_only_ascii():
    # str.upper() would turn the invalid 'ß' into the valid 'SS'
    assert normalise("mkß", "protein") == "MKß"
    with pytest.raises(InvalidSequenceError) as info:
        validate(normalise("mkß", "protein"), "protein")
    assert info.value.character == "ß" and info.value.position == 3


def test_protein_accepts_all_26_letters_but_only_one_terminal_stop():
    validate(normalise("ABCDEFGHIJKLMNOPQRSTUVWXYZ*", "protein"), "protein")
    with pytest.raises(InvalidSequenceError, match=r"'\*' at position 3"):
        validate(normalise("MK**", "protein"), "protein")


@pytest.mark.parametrize(
    ("seq", "kind", "char", "pos", "hint"),
    [
        ("MK-V", "protein", "-", 3, "alignment"),
        ("MK.V", "protein", ".", 3, "ungapped"),
        ("MK1", "protein", "1", 3, "Digits are not residues"),
        ("ACGU", "dna", "U", 4, "kind 'rna'"),
        ("ACGE", "dna", "E", 4, "kind 'protein'"),
        ("ACGUT", "rna", "T", 5, "kind 'protein'"),  # un-normalised input: validate() alone does not map T
        ("MKV/GG", "protein", "/", 4, "one record per chain"),
        ("ab\x07c", "text", "\x07", 3, "control"),
    ],
)
def test_validate_names_first_bad_character(seq, kind, char, pos, hint):
    with pytest.raises(InvalidSequenceError) as info:
        validate(seq, kind)
    assert info.value.character == char
    assert info.value.position == pos
    assert repr(char) in str(info.value)
    assert hint in str(info.value)


def test_validate_empty_and_unknown_kind():
    with pytest.raises(InvalidSequenceError, match="empty sequence"):
        validate("", "dna")
    with pytest.raises(ParseError, match="unknown kind 'peptide'"):
        validate("MK", "peptide")


def test_alphabets_are_documented_sets():
    assert set(ALPHABETS["protein"]) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert set(ALPHABETS["dna"]) == set("ACGTNRYKMSWBDHV")
    assert set(ALPHABETS["rna"]) == set("ACGUNRYKMSWBDHV")


def test_sequence_sha256_is_sha256_of_utf8():
    import hashlib

    assert sequence_sha256("MKV") == hashlib.sha256(b"MKV").hexdigest()


# -- format detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.fa", "fasta"),
        ("a.FASTA.gz", "fasta"),
        ("a.faa", "fasta"),
        ("a.fna.gz", "fasta"),
        ("a.pro", "fasta"),
        ("a.nu", "fasta"),
        ("a.csv", "csv"),
        ("a.tsv.gz", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.pdb", "pdb"),
        ("a.ent.gz", "pdb"),
        ("a.cif", "mmcif"),
        ("a.mmcif", "mmcif"),
    ],
)
def test_detect_format_from_suffix(name, fmt):
    assert detect_format(name) == fmt


def test_detect_format_declared_wins_and_unknown_is_clear(tmp_path):
    assert detect_format("x.fa", declared="csv") == "csv"
    with pytest.raises(ParseError, match="unknown format 'genbank'.*Use one of: fasta"):
        detect_format("x.gb", declared="genbank")


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        ("; comment\n>a\nMK\n", "fasta"),
        ('{"id": "a", "sequence": "MK"}\n', "jsonl"),
        ("data_1ABC\n#\n", "mmcif"),
        ("HEADER    HYDROLASE\n", "pdb"),
        ("id\tsequence\na\tMK\n", "tsv"),
        ("name,Sequence\na,MK\n", "csv"),
    ],
)
def test_detect_format_sniffs_unknown_suffix(tmp_path, content, fmt):
    assert detect_format(write(tmp_path, "data.txt", content)) == fmt


def test_detect_format_sniffs_inside_gzip(tmp_path):
    assert detect_format(write(tmp_path, "data.gz", gzip.compress(b">a\nMK\n"))) == "fasta"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("@r1\nACGT\n+\nIIII\n", "FASTQ"),
        ("LOCUS       X\n", "GenBank"),
        ("ID   X; SV 1\n", "EMBL/UniProt"),
        ("# STOCKHOLM 1.0\n", "Stockholm"),
        ("CLUSTAL W\n", "Clustal"),
        (">P1;X\ndesc\nMK*\n", "NBRF/PIR"),
    ],
)
def test_detect_format_names_formats_it_does_not_read(tmp_path, content, named):
    path = write(tmp_path, "data.txt", content)
    with pytest.raises(ParseError) as info:
        detect_format(path)
    assert named in str(info.value) and "Convert it to FASTA" in str(info.value)
    assert str(info.value).startswith(str(path))


def test_detect_format_unknown_content_asks_for_format(tmp_path):
    path = write(tmp_path, "notes.txt", "just some words\n")
    with pytest.raises(ParseError, match="cannot tell the file format.*--format"):
        detect_format(path)


# -- FASTA: what is accepted ---------------------------------------------------------------------------


def test_fasta_records_lines_descriptions(tmp_path):
    path = write(
        tmp_path, "a.fasta", ">sp|P1|X first protein\nmkv\nLLA*\n\n>P2\r\nGG\r\n>P3  spaced   desc \nW"
    )
    records = parse(path)
    assert records == [
        ParsedRecord("sp|P1|X", "first protein", "MKVLLA", 1),
        ParsedRecord("P2", "", "GG", 5),
        ParsedRecord("P3", "spaced   desc", "W", 7),
    ]


def test_fasta_comment_lines_are_ignored_like_biopython_fasta_blast():
    # aster_blast.pro = aster.pro plus '#', ';' and '!' comment lines before and inside the record
    plain = parse(ODD / "biopython/Fasta/aster.pro")
    commented = parse(ODD / "biopython/Fasta/aster_blast.pro")
    assert [(r.identifier, r.sequence) for r in commented] == [(r.identifier, r.sequence) for r in plain]
    assert commented[0].line == 2


def test_fasta_comment_characters_are_text_for_kind_text(tmp_path):
    path = write(tmp_path, "t.fasta", ">a\n# heading\nbody\n")
    assert parse(path, "text")[0].sequence == "# heading body"


def test_fasta_ncbi_merged_deflines():
    records = parse(FIX / "biopython_fasta/f002", "dna")  # this copy spells the separator as '^A'
    assert records[0].identifier == "gi|1348912|gb|G26680|G26680"
    assert "^Agi|1396336" in records[0].description


def test_fasta_ctrl_a_separator_in_header_is_kept(tmp_path):
    records = parse(write(tmp_path, "nr.fa", b">gi|1 first\x01gi|2 second\nMK\n"))
    assert records[0].description == "first\x01gi|2 second"


def test_lowercase_dna_and_unwrapped_trailing_space_files():
    dna = parse(ODD / "in_the_wild_excerpts/dm3_upstream2000_head2_lowercase_dna.fa", "dna")
    assert [len(r.sequence) for r in dna] == [2000, 2000]
    assert set("".join(r.sequence for r in dna)) <= set("ACGTN")
    deeploc = parse(ODD / "in_the_wild_excerpts/deeploc_setHARD_head20_unwrapped_trailing_space.fasta")
    assert deeploc[0].identifier == "Q12981"
    assert deeploc[0].description == "Endoplasmic.reticulum-U new_test_set"


def test_rna_written_with_t_matches_rna_written_with_u(tmp_path):
    t = parse(write(tmp_path, "t.fa", ">a\nacgt\n"), "rna")
    u = parse(write(tmp_path, "u.fa", ">a\nACGU\n"), "rna")
    assert t == u


def test_text_kind_in_fasta(tmp_path):
    path = write(tmp_path, "t.fasta", ">doc1 a title\nThe  Cafe\u0301\nis open.\n")
    assert parse(path, "text")[0].sequence == "The Caf\u00e9 is open."


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "rel",
    [
        "flip-secondary-structure/train.fasta",  # 3 MB: records cross the 1 MiB read blocks
        "deeploc1/deeploc_test_set.fasta",
        "deepfri-nrpdb/nrPDB-GO_2019.06.18_test_sequences.fasta",
    ],
)
def test_fasta_matches_biopython_on_real_files(rel, tmp_path):
    path = SPLITS / rel
    with open(path) as fh:
        expected = [
            (title.split(None, 1)[0], normalise(seq, "protein")) for title, seq in SimpleFastaParser(fh)
        ]
    got = [(r.identifier, r.sequence) for r in parse(path)]
    assert got == expected
    # the same file gzipped gives the same records
    gz = tmp_path / (path.name + ".gz")
    gz.write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    assert [(r.identifier, r.sequence) for r in parse(gz)] == expected


@pytest.mark.shared_data
def test_fasta_record_lines_are_the_header_lines():
    path = SPLITS / "flip-secondary-structure/train.fasta"
    header_lines = [i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(">")]
    assert [r.line for r in parse(path)] == header_lines


def test_very_long_single_line_sequence_streams(tmp_path):
    # one 3 MB line: longer than a read block, so it arrives in pieces
    seq = "ACDEFGHIKLMNPQRSTVWY" * 150_000
    path = write(tmp_path, "long.fa", f">titin-like\n{seq}\n>b\nMK\n")
    records = parse(path, limits=ParseLimits(max_sequence_length=4_000_000))
    assert [r.identifier for r in records] == ["titin-like", "b"]
    assert records[0].sequence == seq and records[1].line == 3


def test_progress_is_reported(tmp_path):
    body = "".join(f">r{i}\n{'MKV' * 200}\n" for i in range(5000))  # ~3 MB
    path = write(tmp_path, "p.fa", body)
    calls = []
    records = parse(path, on_progress=lambda b, n: calls.append((b, n)))
    assert len(records) == 5000
    assert len(calls) >= 3
    assert calls[-1] == (path.stat().st_size, 5000)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_duplicates_can_be_allowed(tmp_path):
    path = write(tmp_path, "d.fa", ">a\nMK\n>a\nMK\n")
    assert len(parse(path, allow_duplicate_ids=True)) == 2


# -- FASTA: hostile input ------------------------------------------------------------------------------


def test_empty_file(tmp_path):
    exc = rejection(write(tmp_path, "e.fasta", b""))
    assert "the file is empty" in str(exc)


def test_blank_file(tmp_path):
    exc = rejection(write(tmp_path, "e.fasta", "\n\n  \n"))
    assert "no records found" in str(exc) and "'>' header" in str(exc)


def test_text_before_first_record():
    path = ODD / "biopython/Fasta/aster_pearson.pro"
    exc = rejection(path)
    assert exc.line == 1
    assert str(exc) == (
        f"{path}, line 1: text before the first record ('Some header'). A FASTA file must start with a '>' "
        "header line: remove the text before the first record or turn it into comment lines starting with ';'"
    )


def test_text_before_first_record_after_blank_lines(tmp_path):
    exc = rejection(write(tmp_path, "x.fa", "\n\nMKV\n>a\nMK\n"))
    assert exc.line == 3 and "'MKV'" in str(exc)


def test_header_without_identifier():
    path = ODD / "emboss_test/noid.fa"
    exc = rejection(path, "dna")
    assert str(exc).startswith(
        f"{path}, line 1: header with no identifier. Write an identifier right after '>'"
    )


def test_empty_sequence(tmp_path):
    path = write(tmp_path, "e.fa", ">a first\n>b\nMK\n")
    exc = rejection(path)
    assert (exc.line, exc.record) == (1, "a")
    assert str(exc).startswith(f"{path}, line 1, record 'a': empty sequence. Every record needs")


def test_empty_sequence_at_end_of_file(tmp_path):
    exc = rejection(write(tmp_path, "e.fa", ">a\nMK\n>b"))
    assert (exc.line, exc.record, exc.reason) == (3, "b", "empty sequence")


def test_bad_character_names_character_record_and_line(tmp_path):
    path = write(tmp_path, "b.fa", ">ok\nMK\n>bad desc\nMKVL\nMKJ1L\nGG\n")
    exc = rejection(path)
    assert isinstance(exc, InvalidSequenceError)
    assert (exc.line, exc.record, exc.character, exc.position) == (5, "bad", "1", 8)
    assert str(exc).startswith(
        f"{path}, line 5, record 'bad': character '1' at position 8 is not in the protein"
    )


def test_alignment_gaps_are_rejected_with_ungap_hint():
    path = FIX / "biopython_fasta/fa01"
    exc = rejection(path)
    assert (exc.line, exc.record, exc.character) == (2, "AK1H_ECOLI/1-378", "-")
    assert "remove-gaps" in exc.hint


def test_internal_stop_rejected():
    exc = rejection(ODD / "emboss_test/ambigprot.fasta")
    assert (exc.line, exc.record, exc.character, exc.position) == (2, "AMBIGPROT", "*", 27)


def test_duplicate_identifiers_report_both_lines():
    path = FIX / "biopython_fasta/dups.fasta"
    exc = rejection(path, "dna")
    assert str(exc) == (
        f"{path}, line 10, record 'alpha': duplicate identifier 'alpha' (first at line 1, again at line 10). "
        "Identifiers must be unique within a file: rename or remove one of the two records"
    )


def test_nul_byte_is_binary():
    path = ODD / "emboss_test/hasnull.txt"
    exc = rejection(path, "dna", format="fasta")
    assert exc.line == 3 and "NUL byte" in str(exc) and "binary" in str(exc)
    # without a declared format, the sniffer reports it too
    assert "NUL byte" in str(rejection(path, "dna"))


def test_nul_byte_in_sequence(tmp_path):
    exc = rejection(write(tmp_path, "n.fa", b">a\nMK\n>b\nM\x00K\n"))
    assert exc.line == 4 and "NUL byte" in exc.reason


def test_control_character_in_header(tmp_path):
    exc = rejection(write(tmp_path, "c.fa", b">a\x1bb\nMK\n"))
    assert exc.line == 1 and "control character 0x1B" in exc.reason


def test_bad_encoding_latin1(tmp_path):
    path = write(tmp_path, "l.fa", ">a\nMK\n>b caf\xe9\nMK\n".encode("latin-1"))
    exc = rejection(path)
    assert exc.line == 3 and "not valid UTF-8 (byte 0xE9)" in str(exc) and "iconv" in exc.hint


def test_utf16_file(tmp_path):
    exc = rejection(write(tmp_path, "u.fa", ">a\nMK\n".encode("utf-16")), format="fasta")
    assert "UTF-16" in exc.reason


def test_utf8_byte_order_mark_is_ignored(tmp_path):
    assert parse(write(tmp_path, "bom.fa", b"\xef\xbb\xbf>a\nMK\n"))[0].identifier == "a"


def test_non_ascii_residue_is_named(tmp_path):
    exc = rejection(write(tmp_path, "n.fa", ">a\nMK\u00c9V\n"))
    assert exc.character == "\u00c9" and exc.line == 2


def test_old_mac_line_ends(tmp_path):
    exc = rejection(write(tmp_path, "mac.fa", b">a\rMK\r>b\rGG\r"))
    assert "CR-only" in str(exc)


def test_truncated_gzip(tmp_path):
    data = (ODD / "biopython/Fasta/flowers.pro.gz").read_bytes()
    path = write(tmp_path, "t.fasta.gz", data[: len(data) // 2])
    exc = rejection(path)
    assert "broken gzip" in exc.reason and "gzip -t" in exc.hint


def test_corrupt_gzip(tmp_path):
    data = bytearray((ODD / "biopython/Fasta/flowers.pro.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    data[len(data) // 2 + 1] ^= 0xFF
    exc = rejection(write(tmp_path, "c.fasta.gz", bytes(data)))
    assert "broken gzip" in exc.reason


def test_gzip_bomb_is_stopped(tmp_path):
    # 64 MiB of 'A' compresses to ~64 KiB; the limit stops it after the first MiB or so
    bomb = gzip.compress(b">a\n" + b"A" * (64 << 20), compresslevel=9)
    path = write(tmp_path, "bomb.fa.gz", bomb)
    exc = rejection(path, limits=ParseLimits(max_uncompressed_bytes=8 << 20, max_sequence_length=10**9))
    assert "decompresses to more than 8.0 MiB" in exc.reason and "gzip bomb" in exc.hint


def test_other_compression_is_named(tmp_path):
    exc = rejection(write(tmp_path, "x.fa", bz2.compress(b">a\nMK\n")))
    assert "bzip2-compressed" in exc.reason and "decompress" in exc.hint


def test_file_over_size_limit(tmp_path):
    path = write(tmp_path, "big.fa", ">a\n" + "M" * 5000 + "\n")
    exc = rejection(path, limits=ParseLimits(max_file_bytes=1000))
    assert "over the limit of 1000 bytes" in exc.reason and "max_file_bytes" in exc.hint


def test_sequence_over_length_limit(tmp_path):
    path = write(tmp_path, "l.fa", ">ok\nMK\n>long\n" + "MKV" * 400 + "\n")
    exc = rejection(path, limits=ParseLimits(max_sequence_length=1000))
    assert (exc.record, exc.line) == ("long", 3)
    assert "1,200 residues is longer than the limit of 1,000" in exc.reason


def test_sequence_over_length_limit_streams_without_reading_it_all(tmp_path):
    # a 20 MB single line with a 1 MB limit is rejected while reading it, on its record
    path = write(tmp_path, "huge.fa", b">huge\n" + b"A" * (20 << 20) + b"\n")
    exc = rejection(path, "dna", limits=ParseLimits(max_sequence_length=1_000_000))
    assert exc.record == "huge" and "longer than the limit" in exc.reason


def test_missing_file():
    exc = rejection(Path("/nonexistent/x.fa"))
    assert "cannot open" in exc.reason


def test_unknown_kind(tmp_path):
    with pytest.raises(ParseError, match="unknown kind"):
        parse(write(tmp_path, "a.fa", ">a\nMK\n"), "peptide")


# -- CSV / TSV / JSONL ---------------------------------------------------------------------------------


def test_csv_with_quotes_description_and_lines(tmp_path):
    path = write(tmp_path, "a.csv", 'id,sequence,description\nP1,mkv,"a, quoted"\n\nP2,"MK\nLL",x\nP3,GG,\n')
    assert parse(path) == [
        ParsedRecord("P1", "a, quoted", "MKV", 2),
        ParsedRecord("P2", "x", "MKLL", 4),
        ParsedRecord("P3", "", "GG", 6),
    ]


def test_tsv_configurable_columns_case_insensitive(tmp_path):
    path = write(tmp_path, "a.tsv", "Name\tSeq\tlabel\nx\tacgt\t1\n")
    records = parse(path, "dna", id_column="name", sequence_column="seq")
    assert records == [ParsedRecord("x", "", "ACGT", 2)]


def test_csv_missing_columns_names_columns_found(tmp_path):
    path = write(tmp_path, "a.csv", "PDB-chain,<30%,<40%\n3ONG-B,0,1\n")
    exc = rejection(path)
    assert exc.line == 1
    assert "missing column 'id' and 'sequence'; the header row has: 'PDB-chain', '<30%', '<40%'" in exc.reason
    assert "--sequence-column" in exc.hint


def test_tsv_read_as_csv_hints_at_delimiter(tmp_path):
    exc = rejection(write(tmp_path, "a.csv", "id\tsequence\na\tMK\n"))
    assert "tab-separated" in exc.hint


def test_csv_bad_row(tmp_path):
    exc = rejection(write(tmp_path, "a.csv", "id,sequence\na,MK\nb,MK,extra\n"))
    assert exc.line == 3 and "3 fields but the header has 2" in exc.reason


def test_csv_bad_sequence_and_duplicate(tmp_path):
    exc = rejection(write(tmp_path, "a.csv", "id,sequence\na,MK\nb,M-K\n"))
    assert (exc.line, exc.record, exc.character) == (3, "b", "-")
    exc = rejection(write(tmp_path, "b.csv", "id,sequence\na,MK\na,MK\n"))
    assert "first at line 2, again at line 3" in exc.reason


def test_csv_header_only_and_empty(tmp_path):
    assert "no data rows" in str(rejection(write(tmp_path, "h.csv", "id,sequence\n")))
    assert "empty" in str(rejection(write(tmp_path, "e.csv", "")))


def test_csv_long_field_above_csv_default_limit(tmp_path):
    seq = "M" * 200_000  # the csv module's default field limit is 131,072
    assert parse(write(tmp_path, "l.csv", f"id,sequence\na,{seq}\n"))[0].sequence == seq


def test_csv_gzip(tmp_path):
    path = write(tmp_path, "a.csv.gz", gzip.compress(b"id,sequence\na,MK\n"))
    assert parse(path) == [ParsedRecord("a", "", "MK", 2)]


def test_jsonl_records(tmp_path):
    lines = [{"id": "a", "sequence": "mk", "description": "first"}, {"id": 7, "sequence": "GG"}]
    path = write(tmp_path, "a.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert parse(path) == [ParsedRecord("a", "first", "MK", 1), ParsedRecord("7", "", "GG", 2)]


def test_jsonl_malformed_line(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"id": "a", "sequence": "MK"}\n{"id": "b", "sequence": \n')
    exc = rejection(path)
    assert exc.line == 2 and "malformed JSON" in exc.reason


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"name": "a", "sequence": "MK"}', "missing key 'id'; the object has: 'name', 'sequence'"),
        ('{"id": "a", "sequence": 5}', "sequence must be a string, found int"),
        ('{"id": null, "sequence": "MK"}', "identifier must be a string or an integer"),
        ('{"id": "", "sequence": "MK"}', "empty identifier"),
    ],
)
def test_jsonl_bad_objects(tmp_path, line, reason):
    exc = rejection(write(tmp_path, "a.jsonl", '{"id": "ok", "sequence": "MK"}\n' + line + "\n"))
    assert exc.line == 2 and reason in exc.reason


def test_jsonl_text_kind(tmp_path):
    path = write(tmp_path, "t.jsonl", json.dumps({"id": "q1", "sequence": "What  is\nDNA?"}) + "\n")
    assert parse(path, "text")[0].sequence == "What is DNA?"


# -- PDB / mmCIF ---------------------------------------------------------------------------------------


def test_pdb_and_mmcif_of_same_entry_agree():
    pdb = parse(ODD / "biopython/PDB/1A8O.pdb")
    cif = parse(ODD / "biopython/PDB/1A8O.cif")
    assert [r.identifier for r in pdb] == ["1A8O_A"] == [r.identifier for r in cif]
    assert pdb[0].sequence == cif[0].sequence
    # selenomethionines (MSE HETATM) read as M; the 71 waters are not residues
    assert pdb[0].sequence.startswith(
        "MDIRQGPKEPFRDYVDRFYKTLRAEQASQEVKNWMTETLLVQNANPDCKTILKALGPGATLEEMMTACQG"
    )
    assert pdb[0].description == "chain A hiv capsid"
    assert pdb[0].line > 1


def test_pdb_one_record_per_chain_first_model_only():
    records = parse(ODD / "biopython/PDB/1SSU_mod.pdb")  # two models of chains A and B
    assert [(r.identifier, r.sequence, r.line) for r in records] == [
        ("1SSU_mod_A", "D", 2),
        ("1SSU_mod_B", "D", 3),
    ]


def test_pdb_nucleic_chains_for_dna_kind():
    path = ODD / "emboss_test/133d.pdb"
    assert [r.identifier for r in parse(path, "dna")] == ["133d_A", "133d_B"]
    exc = rejection(path, "protein")
    assert "no protein chain" in exc.reason and "A: nucleic" in exc.reason and "'dna'" in exc.hint


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("biopython/PDB/1MOM_min.cif", "Bio.PDB cannot read this mmCIF file"),
        ("biopython/PDB/header.pdb", "no atoms"),
        ("biopython/PDB/ions.pdb", "no protein chain"),
    ],
)
def test_unreadable_structures(rel, reason):
    exc = rejection(ODD / rel)
    assert reason in exc.reason


def test_structure_text_kind_rejected():
    exc = rejection(ODD / "biopython/PDB/1A8O.pdb", "text")
    assert "kind 'protein'" in exc.hint


def test_gzipped_pdb(tmp_path):
    path = tmp_path / "1A8O.pdb.gz"
    path.write_bytes(gzip.compress((ODD / "biopython/PDB/1A8O.pdb").read_bytes()))
    assert parse(path)[0].identifier == "1A8O_A"


# -- fixtures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "count"),
    [
        ("casp16_phase0/all_casp16_phase0.fasta", 72),
        ("hmmer_tutorial/globins45.fa", 45),
        ("deepfri_examples/pdb_chains.fasta", 4),
        ("flip_bind_split/test.fasta", 250),
        ("proteinortho_diamond_test/C.faa", 109),
    ],
)
def test_fixture_files_are_accepted(rel, count):
    assert len(parse(FIX / rel)) == count


def test_flip_bind_train_has_real_duplicate_ids():
    exc = rejection(FIX / "flip_bind_split/train.fasta")
    assert exc.record == "Q5LL55" and "first at line 1, again at line 4596" in exc.reason
    assert len(parse(FIX / "flip_bind_split/train.fasta", allow_duplicate_ids=True)) == 1110


def test_proteinmpnn_chain_separator_gets_a_hint():
    exc = rejection(FIX / "proteinmpnn_designs/3HTN.fa")
    assert exc.character == "/" and "one record per chain" in exc.hint


# -- block boundaries -----------------------------------------------------------------------------------


def _outcome(path, kind):
    try:
        return [(r.identifier, r.description, r.sequence, r.line) for r in parse(path, kind)]
    except ParseError as exc:
        return (exc.reason, exc.line, exc.record)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_results_do_not_depend_on_read_block_size(monkeypatch, tmp_path, chunk):
    """Tiny read blocks and a tiny long-line threshold put every header, comment, CRLF and line
    break across block boundaries; results (records or the exact error) must not change."""
    import dedup.formats._source as source
    import dedup.formats.fasta as fasta

    crlf = write(tmp_path, "crlf.fa", b";c\r\n>a x\r\nMK\r\nLV\r\n\r\n>b\r\nGG*\r\n")
    paths = [crlf] + [
        ODD / rel
        for rel in (
            "biopython/Fasta/aster_blast.pro",
            "biopython/Fasta/f002",
            "biopython/Fasta/dups.fasta",
            "biopython/Fasta/fa01",
            "biopython/Fasta/flowers.pro.gz",
            "emboss_test/dna.nonewline",
            "emboss_test/tropomyosin.fasta",
            "in_the_wild_excerpts/deeploc_setHARD_head20_unwrapped_trailing_space.fasta",
        )
    ]
    expected = {p: _outcome(p, "protein") for p in paths}
    monkeypatch.setattr(source, "CHUNK", chunk)
    monkeypatch.setattr(fasta, "_MAX_HEADER", 200)  # long sequence lines arrive in pieces
    for path in paths:
        assert _outcome(path, "protein") == expected[path], path


def test_structure_size_cap(monkeypatch):
    import dedup.formats.structure as structure

    monkeypatch.setattr(structure, "MAX_STRUCTURE_BYTES", 10_000)
    exc = rejection(ODD / "biopython/PDB/1A8O.pdb")
    assert "larger than" in exc.reason and "FASTA" in exc.hint
