"""Statements kept per connection (registry/db/statements.py) give the rows their querysets give.

Each case runs a Statement with the cache's verify mode off, so that only the statement runs, and
compares its rows with the queryset's: values of several types through the placeholders (ids, names,
UUIDs, lists of different lengths, an empty list), columns that need the ORM's converters on SQLite
(booleans, datetimes, UUIDs, JSON), and a lookup that would change a value on its way (refused).
"""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test.utils import override_settings

from registry.db.statements import Statement
from registry.models import DatasetVersion, Split, SplitPart
from registry.services import dataset_version_register, split_register

FIXTURES = __import__("tests.conftest", fromlist=["FIXTURES"]).FIXTURES
GLOBINS = [">" + r for r in (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text().split(">")[1:]]

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(tmp_path):
    owner = get_user_model().objects.create_user("olivia")
    made = []
    for name, records in (("g", GLOBINS[:12]), ("h", GLOBINS[12:20]), ("k", GLOBINS[20:23])):
        path = tmp_path / f"{name}.fa"
        path.write_text("".join(records))
        made.append(
            dataset_version_register(path=path, dataset_name=name, kind="protein", user=owner).version
        )
    ids = [line[1:].split()[0] for line in GLOBINS[:12]]
    mapping = tmp_path / "split.json"
    mapping.write_text(json.dumps({"train": ids[:9], "test": ids[9:]}))
    split_register(version_ref="g@1", name="s", mapping_path=mapping, user=owner)
    return made


def _only(statement, **values):
    with override_settings(LEAKLEDGER_SQL_CACHE="on"):
        return statement.run(**values)


VERSIONS = Statement(
    lambda ids: (
        DatasetVersion.objects.filter(id__in=ids)
        .order_by("id")
        .values_list("id", "uuid", "dataset__name", "sketch_only", "created_at", "dataset__authors")
    )
)


def test_rows_and_types_are_the_querysets_for_lists_of_any_length(versions):
    ids = [v.pk for v in versions]
    for chosen in (ids, ids[:1], ids[1:], [ids[2], ids[0]], [*ids, 10**9]):
        ours = _only(VERSIONS, ids=chosen)
        theirs = list(VERSIONS.build(ids=chosen))
        assert ours == theirs
        assert [tuple(map(type, row)) for row in ours] == [tuple(map(type, row)) for row in theirs]
    assert isinstance(ours[0][1], uuid.UUID) and ours[0][3] is False  # converted as the ORM converts
    assert _only(VERSIONS, ids=[]) == [] == list(VERSIONS.build(ids=[]))


def test_names_uuids_and_constants_reach_their_places(versions):
    by_name = Statement(
        lambda name, version: DatasetVersion.objects.filter(
            dataset__name=name, version=version, sketch_only=False
        ).values_list("uuid", "record_count")
    )
    assert _only(by_name, name="h", version="1") == [(versions[1].uuid, 8)]
    assert _only(by_name, name="g", version="1") == [(versions[0].uuid, 12)]
    assert _only(by_name, name="g", version="2") == []
    by_uuid = Statement(lambda key: DatasetVersion.objects.filter(uuid=key).values_list("dataset__name"))
    assert _only(by_uuid, key=versions[2].uuid) == [("k",)]
    assert _only(by_uuid, key=uuid.uuid4()) == []


def test_a_left_join_over_a_reverse_relation(versions):
    parts = Statement(
        lambda ids: (
            Split.objects.filter(version_id__in=ids)
            .order_by("name", "parts__name")
            .values_list("version_id", "name", "parts__name", "parts__record_count", "shared_ids_allowed")
        )
    )
    ids = [v.pk for v in versions]
    assert (
        _only(parts, ids=ids)
        == list(parts.build(ids=ids))
        == [
            (ids[0], "s", "test", 3, False),
            (ids[0], "s", "train", 9, False),
        ]
    )
    assert SplitPart.objects.count() == 2


def test_a_value_a_lookup_would_change_is_refused_when_the_statement_is_built(versions):
    wrapped = Statement(
        lambda name: DatasetVersion.objects.filter(dataset__name__contains=name).values_list("id")
    )
    with pytest.raises(ValueError, match="does not reach the statement as itself"):
        _only(wrapped, name="g")
    flat = Statement(lambda ids: DatasetVersion.objects.filter(id__in=ids).values_list("id", flat=True))
    with pytest.raises(TypeError, match="values_list"):
        _only(flat, ids=[1])


def test_verify_mode_runs_the_queryset_beside_the_statement(versions):
    ids = [v.pk for v in versions]
    with override_settings(LEAKLEDGER_SQL_CACHE="verify"):
        assert VERSIONS.run(ids=ids) == list(VERSIONS.build(ids=ids))
    with override_settings(LEAKLEDGER_SQL_CACHE="off"):
        assert VERSIONS.run(ids=ids) == list(VERSIONS.build(ids=ids))
