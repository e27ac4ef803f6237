"""Splits from mapping files and header keys, with every id checked and shared ids reported."""

import json

import pytest

from registry.errors import Conflict, InputRejected
from registry.models import RecordSet, Split, SplitPart
from registry.selectors import record_set_get, record_set_records
from registry.services import dataset_version_register, split_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def bind(data_dir, bind_all):
    return dataset_version_register(path=bind_all, dataset_name="flip-bind", kind="protein").version


def test_flip_bind_shared_ids_are_listed_and_nothing_is_written(bind, bind_mapping, snapshot):
    before = snapshot()
    with pytest.raises(InputRejected) as info:
        split_register(version_ref="flip-bind@1", name="one_vs_many", mapping_path=bind_mapping)
    message = str(info.value)
    assert message.startswith("13 id(s) are in more than one part")
    for ident in ["O60895", "Q2VE61", "Q9RY97"]:  # named in FLIP's own notes
        assert ident in message
    assert len(info.value.fields["shared_ids"]) == 13
    assert snapshot() == before


def test_flip_bind_split_with_shared_ids_allowed(bind, bind_mapping):
    split = split_register(
        version_ref="flip-bind@1", name="one_vs_many", mapping_path=bind_mapping, allow_shared_ids=True
    )
    parts = {p.name: p for p in split.parts.all()}
    assert (parts["train"].role, parts["train"].record_count) == ("train", 1077)
    assert (parts["test"].role, parts["test"].record_count) == ("test", 250)
    test_set = record_set_get("flip-bind@1/one_vs_many:test")
    ids = list(record_set_records(test_set).values_list("identifier", flat=True))
    assert len(ids) == 250 and ids == sorted(ids, key=lambda i: bind.records.get(identifier=i).position)
    assert RecordSet.objects.filter(part__split=split).count() == 2


def test_from_header_key_as_flip_publishes_it(data_dir, bind_train):
    version = dataset_version_register(
        path=bind_train, dataset_name="bind-train", kind="protein", skip_identical_duplicates=True
    ).version
    split = split_register(version_ref=version.ref, name="validation", from_header="VALIDATION")
    counts = {p.name: p.record_count for p in split.parts.all()}
    assert counts["True"] + counts["False"] == 1077
    assert all(p.role == "other" for p in split.parts.all())


def test_tsv_mapping_with_roles_and_unknown_ids(bind, tmp_path, snapshot):
    ids = list(bind.records.order_by("position").values_list("identifier", flat=True))
    tsv = tmp_path / "folds.tsv"
    tsv.write_text("".join(f"{i}\tfold{n % 3}\n" for n, i in enumerate(ids)))
    split = split_register(version_ref="flip-bind@1", name="cv", mapping_path=tsv, roles={"fold0": "test"})
    roles = dict(split.parts.values_list("name", "role"))
    assert roles == {"fold0": "test", "fold1": "other", "fold2": "other"}

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": ids[:5] + ["NOT_A_RECORD", "ALSO_MISSING"]}))
    before = snapshot()
    with pytest.raises(
        InputRejected,
        match=r"2 id\(s\) in the mapping are not records of flip-bind@1: ALSO_MISSING, NOT_A_RECORD",
    ):
        split_register(version_ref="flip-bind@1", name="bad", mapping_path=bad)
    assert snapshot() == before


def test_malformed_mapping_files_are_rejected_with_the_line(bind, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"train": ["a",\n')
    with pytest.raises(InputRejected, match="broken.json, line 2: not valid JSON"):
        split_register(version_ref="flip-bind@1", name="x", mapping_path=broken)
    three = tmp_path / "three.tsv"
    three.write_text("O60895\ttrain\nQ2VE61\ttest\textra\n")
    with pytest.raises(InputRejected, match="three.tsv, line 2: expected 'id<TAB>part'"):
        split_register(version_ref="flip-bind@1", name="x", mapping_path=three)


def test_split_names_are_immutable(bind, bind_mapping):
    split_register(version_ref="flip-bind@1", name="s", mapping_path=bind_mapping, allow_shared_ids=True)
    with pytest.raises(Conflict, match="already has a split named 's'"):
        split_register(version_ref="flip-bind@1", name="s", mapping_path=bind_mapping, allow_shared_ids=True)
    assert Split.objects.count() == 1 and SplitPart.objects.count() == 2
