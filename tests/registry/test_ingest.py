"""Registration: all-or-nothing validation, the order-free digest, idempotence, lineage edges."""

import gzip
import hashlib
import re

import pytest

from registry.errors import Conflict, InputRejected, NotFound, RegistryError
from registry.models import Dataset, DatasetVersion, Derivation, Record, RecordSet, Sequence
from registry.services import dataset_version_register
from registry.services.digest import record_hash, version_digest

pytestmark = pytest.mark.django_db


def register(path, name="globins", kind="protein", **kwargs):
    return dataset_version_register(path=path, dataset_name=name, kind=kind, **kwargs)


def read_fasta(path):
    records, ident, seq = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if ident:
                records.append((ident, "".join(seq)))
            ident, seq = line[1:], []
        else:
            seq.append(line.strip())
    records.append((ident, "".join(seq)))
    return records


def write_fasta(path, records, width=60):
    with open(path, "w") as out:
        for header, seq in records:
            out.write(f">{header}\n")
            out.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return path


def test_register_real_fasta_keeps_order_and_stores_each_sequence_once(data_dir, bind_test):
    reg = register(bind_test, name="flip-bind-test")
    assert reg.created and reg.version.ref == "flip-bind-test@1"
    assert reg.version.record_count == 250
    ids = [h.split()[0] for h, _ in read_fasta(bind_test)]
    assert list(Record.objects.filter(version=reg.version).values_list("identifier", flat=True)) == ids
    first = Record.objects.get(version=reg.version, position=0)
    assert first.description == read_fasta(bind_test)[0][0].split(" ", 1)[1]
    assert first.sequence.sha256 == hashlib.sha256(first.sequence.residues.encode()).hexdigest()
    assert RecordSet.objects.filter(version=reg.version, part__isnull=True).count() == 1
    # The same sequences under another dataset are not stored again.
    sequences_before = Sequence.objects.count()
    register(bind_test, name="flip-bind-copy")
    assert Sequence.objects.count() == sequences_before


def test_digest_follows_the_documented_recipe(data_dir, tmp_path, bind_test):
    reg = register(bind_test, name="flip-bind-test")
    hashes = []
    for header, seq in read_fasta(bind_test):
        ident, _, desc = header.partition(" ")
        hashes.append(hashlib.sha256(f"{ident}\t{desc}\t{seq.upper()}".encode()).hexdigest())
    recomputed = hashlib.sha256("".join(h + "\n" for h in sorted(hashes)).encode()).hexdigest()
    assert (
        reg.version.digest
        == recomputed
        == version_digest([record_hash(*h.partition(" ")[::2], s) for h, s in read_fasta(bind_test)])
    )


def test_same_records_in_another_order_and_wrapping_give_the_same_digest(data_dir, tmp_path, bind_test):
    records = read_fasta(bind_test)
    shuffled = write_fasta(tmp_path / "shuffled.fa", list(reversed(records)), width=37)
    gz = tmp_path / "test.fasta.gz"
    gz.write_bytes(gzip.compress(bind_test.read_bytes()))
    first = register(bind_test, name="a")
    assert register(shuffled, name="b").version.digest == first.version.digest
    assert register(gz, name="c").version.digest == first.version.digest
    changed = write_fasta(
        tmp_path / "changed.fa", [records[0], (records[1][0], records[1][1][:-1])] + records[2:]
    )
    assert register(changed, name="d").version.digest != first.version.digest


def test_identical_content_returns_the_existing_version(data_dir, tmp_path, bind_test, snapshot):
    first = register(bind_test, name="flip-bind-test")
    before = snapshot()
    again = register(
        write_fasta(tmp_path / "r.fa", read_fasta(bind_test)[::-1]), name="flip-bind-test", version="9"
    )
    assert not again.created
    assert again.version.pk == first.version.pk
    assert "already registered as flip-bind-test@1" in again.messages[0]
    assert snapshot() == before


def test_versions_number_themselves_and_names_cannot_be_reused(data_dir, tmp_path, bind_test):
    records = read_fasta(bind_test)
    register(bind_test, name="ds")
    second = register(write_fasta(tmp_path / "half.fa", records[:100]), name="ds")
    assert second.version.version == "2"
    with pytest.raises(Conflict, match="ds@2 already exists with different content"):
        register(write_fasta(tmp_path / "third.fa", records[:50]), name="ds", version="2")


def test_derivation_edge_is_recorded(data_dir, tmp_path, bind_test):
    parent = register(bind_test, name="bind")
    short = [(h, s) for h, s in read_fasta(bind_test) if len(s) < 300]
    child = register(
        write_fasta(tmp_path / "short.fa", short),
        name="bind-short",
        derived_from="bind@1",
        transform="filtered to length < 300",
    )
    edge = Derivation.objects.get(target=child.version)
    assert edge.source == parent.version and edge.transform == "filtered to length < 300"
    assert child.version.record_count == len(short)


def test_derived_from_needs_a_transform_and_an_existing_version(data_dir, bind_test, snapshot):
    before = snapshot()
    with pytest.raises(RegistryError, match="go together"):
        register(bind_test, name="x", derived_from="bind@1")
    with pytest.raises(NotFound, match="No dataset version 'nope@1'"):
        register(bind_test, name="x", derived_from="nope@1", transform="t")
    assert snapshot() == before


def test_kind_of_an_existing_dataset_cannot_change(data_dir, bind_test, tmp_path):
    register(bind_test, name="ds")
    dna = write_fasta(tmp_path / "dna.fa", [("s1", "ACGTACGT")])
    with pytest.raises(Conflict, match="holds protein data, not dna"):
        register(dna, name="ds", kind="dna")


HOSTILE = {
    "empty.fa": (b"", "no records|empty"),
    "text_before.fa": (b"hello there\n>P1\nMKV\n", "before the first"),
    "no_id.fa": (b">\nMKV\n", "identifier"),
    "empty_seq.fa": (b">P1\n>P2\nMKV\n", "empty"),
    "bad_char.fa": (b">P1\nMKV\n>P2\nMK1V\n", "'1'"),
    "dup_ids.fa": (b">P1\nMKV\n>P1\nMKL\n", "duplicate"),
    "nul.fa": (b">P1\nMK\x00V\n", "NUL|binary"),
    "latin1.fa": (b">P1 caf\xe9\nMKV\n", "UTF-8|encoding"),
    "broken.fa.gz": (
        gzip.compress(b"".join(b">P%d\nMKVLA\n" % i for i in range(200)))[:60],
        "gzip|truncated|compressed",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_rejected_clearly_and_writes_nothing(data_dir, tmp_path, snapshot, name):
    content, pattern = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot()
    with pytest.raises(InputRejected) as info:
        register(path, name="hostile")
    message = str(info.value)
    assert name in message
    assert re.search(pattern, message, re.IGNORECASE), message
    assert snapshot() == before
    assert not Dataset.objects.filter(name="hostile").exists()
    assert not list((data_dir / "tmp").glob("spool-*")), "the spool file must be removed"


def test_bad_record_late_in_a_real_file_rejects_the_whole_file(data_dir, tmp_path, bind_test, snapshot):
    records = read_fasta(bind_test)
    records[200] = (records[200][0], records[200][1][:10] + "#" + records[200][1][10:])
    path = write_fasta(tmp_path / "late.fa", records)
    before = snapshot()
    with pytest.raises(InputRejected) as info:
        register(path, name="late")
    ident = records[200][0].split()[0]
    assert ident in str(info.value) and "'#'" in str(info.value)
    assert snapshot() == before


def test_file_over_the_size_limit_is_rejected(data_dir, settings, bind_test, snapshot):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MAX_FILE_BYTES": 1000}
    before = snapshot()
    with pytest.raises(InputRejected, match="test.fasta"):
        register(bind_test, name="big")
    assert snapshot() == before


def test_sequence_over_the_length_limit_is_rejected(data_dir, settings, bind_test, snapshot):
    settings.LEAKLEDGER = {**settings.LEAKLEDGER, "MAX_SEQUENCE_LENGTH": 500}
    longest = next(r for r in read_fasta(bind_test) if len(r[1]) > 500)
    before = snapshot()
    with pytest.raises(InputRejected) as info:
        register(bind_test, name="long")
    assert longest[0].split()[0] in str(info.value) and "500" in str(info.value)
    assert snapshot() == before


def test_verbatim_duplicates_can_be_skipped_but_conflicting_ones_cannot(
    data_dir, tmp_path, bind_train, snapshot
):
    with pytest.raises(InputRejected, match="duplicate"):
        register(bind_train, name="train")
    reg = register(bind_train, name="train", skip_identical_duplicates=True)
    assert reg.version.record_count == 1077 and reg.skipped_duplicates == 33
    conflicting = write_fasta(tmp_path / "c.fa", [("P1 a", "MKV"), ("P1 a", "MKL")])
    before = snapshot()
    with pytest.raises(InputRejected, match="different description or sequence"):
        register(conflicting, name="c", skip_identical_duplicates=True)
    assert snapshot() == before


def test_nothing_half_registered_when_the_write_fails(data_dir, bind_test, snapshot, monkeypatch):
    """A failure at the end of the database write (all records inserted) rolls every table back."""
    from registry.services import ingest

    seen = {}

    def failing_hook(record_set):
        seen["records"] = Record.objects.filter(version=record_set.version).count()
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "record_set_created", failing_hook)
    before = snapshot()
    with pytest.raises(RuntimeError, match="disk full"):
        register(bind_test, name="half")
    assert seen["records"] == 250  # the failure came after every record was written
    assert snapshot() == before
    assert not DatasetVersion.objects.filter(dataset__name="half").exists()


def test_who_may_add_versions(data_dir, bind_test, django_user_model):
    from registry.errors import Forbidden
    from registry.services import dataset_can_write

    owner = django_user_model.objects.create_user("owner")
    other = django_user_model.objects.create_user("other")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    owned = register(bind_test, name="owned", user=owner).version.dataset
    assert owned.owner == owner
    assert (
        dataset_can_write(owner, owned) and dataset_can_write(staff, owned) and dataset_can_write(None, owned)
    )
    assert not dataset_can_write(other, owned)
    with pytest.raises(Forbidden, match="Only the owner of 'owned' or members of its group"):
        register(bind_test, name="owned", user=other, version="2")
    # registered from the command line: no owner, the operator's; over the API only staff may add
    cli = register(bind_test, name="from-cli").version.dataset
    assert cli.owner is None
    assert not dataset_can_write(other, cli) and dataset_can_write(staff, cli)
