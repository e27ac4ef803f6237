"""The cache of compiled SELECTs (registry/db/compiled.py) runs Django's own statements and gives its rows.

Each shape below is run with the cache off (Django compiles it), then twice with it on, with other
values the second time, so that the second run takes its statement from the cache: the rows, the
fields loaded and the related objects must be the ones Django gives. The shapes are the ones a key
could confuse: the same WHERE text after different joins, ``select_related`` in another order,
deferred fields, ``values()``, ``exists()`` and ``count()`` of a cached query, slices, reversed and
distinct orderings, annotations, subqueries and many-to-many prefetches.
"""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Prefetch, Q
from django.test.utils import override_settings

from registry.db.compiled import SELECTS, CompiledSelectMismatch
from registry.models import Dataset, DatasetVersion, Derivation, ModelVersion, RecordSet
from registry.services import dataset_version_register, model_version_register

FIXTURES = __import__("tests.conftest", fromlist=["FIXTURES"]).FIXTURES
GLOBINS = [">" + r for r in (FIXTURES / "hmmer_tutorial" / "globins45.fa").read_text().split(">")[1:]]

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(tmp_path):
    """s@1 -> a@1 -> b@1 and s@1 -> c@1, and a model trained on a@1."""
    owner = get_user_model().objects.create_user("olivia")
    for name, source, records in (
        ("s", None, GLOBINS[:9]),
        ("a", "s@1", GLOBINS[:6]),
        ("b", "a@1", GLOBINS[:3]),
        ("c", "s@1", GLOBINS[3:9]),
    ):
        path = tmp_path / f"{name}.fa"
        path.write_text("".join(records))
        dataset_version_register(
            path=path,
            dataset_name=name,
            kind="protein",
            derived_from=source,
            transform=source and f"{name} from {source}",
            user=owner,
        )
    model_version_register(ref="m@1", trained_on=["a@1"], user=owner)
    versions = {ref: DatasetVersion.objects.get(dataset__name=ref) for ref in "sabc"}
    SELECTS.clear()
    return versions


def snapshot(result):
    """What a query gave, to compare: every loaded field of every object and of the related objects
    ``select_related`` or a prefetch attached to it, or the values themselves."""
    if isinstance(result, list | tuple):
        return [snapshot(item) for item in result]
    if hasattr(result, "_state"):
        fields = {k: v for k, v in vars(result).items() if not k.startswith("_")}
        related = {k: snapshot(v) for k, v in result._state.fields_cache.items()}
        prefetched = {
            k: snapshot(list(v)) for k, v in getattr(result, "_prefetched_objects_cache", {}).items()
        }
        return (type(result).__name__, fields, related, prefetched)
    return result


def _versions(names):
    return DatasetVersion.objects.select_related("dataset", "created_by").filter(dataset__name__in=names)


SHAPES = {
    "select_related": lambda v, one: list(_versions([one]).order_by("dataset__name")),
    "select_related, other order": lambda v, one: list(
        DatasetVersion.objects.select_related("created_by", "dataset").filter(dataset__name=one)
    ),
    "unused join of fk_id": lambda v, one: list(
        Derivation.objects.filter(Q(target_id__in=[]) | Q(source_id__in=[v[one].pk])).select_related(
            "source__dataset", "target__dataset"
        )
    ),
    "same WHERE, no unused join": lambda v, one: list(
        Derivation.objects.filter(source_id__in=[v[one].pk]).select_related(
            "source__dataset", "target__dataset"
        )
    ),
    "only": lambda v, one: list(_versions([one]).only("version", "dataset__name", "created_by__username")),
    "defer": lambda v, one: list(_versions([one]).defer("digest", "dataset__description")),
    "values": lambda v, one: list(_versions([one]).values("version", "dataset__name")),
    "values_list flat": lambda v, one: list(_versions([one]).values_list("pk", flat=True)),
    "exists of a cached query": lambda v, one: [list(_versions([one])), _versions([one]).exists()],
    "count of a cached query": lambda v, one: [list(_versions([one])), _versions([one]).count()],
    "get": lambda v, one: _versions([one]).get(),
    "slice": lambda v, one: list(_versions([one, "s", "c"]).order_by("dataset__name")[1:3]),
    "reversed": lambda v, one: list(_versions([one, "s"]).order_by("dataset__name").reverse()),
    "distinct": lambda v, one: list(
        Dataset.objects.filter(versions__record_count__gte=1, name__in=[one, "s"]).distinct().order_by("name")
    ),
    "annotate Count": lambda v, one: list(
        Dataset.objects.filter(name=one).annotate(n=Count("versions")).order_by("name")
    ),
    "subquery": lambda v, one: list(
        ModelVersion.objects.filter(trained_on__in=RecordSet.objects.filter(version=v[one])).select_related(
            "model"
        )
    ),
    "many-to-many prefetch": lambda v, one: list(
        ModelVersion.objects.filter(model__name="m").prefetch_related(
            Prefetch(
                "trained_on",
                queryset=RecordSet.objects.select_related("version__dataset").filter(
                    version__dataset__name=one
                ),
            )
        )
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_gives_what_django_gives(registry, shape):
    run = SHAPES[shape]
    with override_settings(LEAKLEDGER_SQL_CACHE="off"):
        expected = {one: snapshot(run(registry, one)) for one in ("a", "b")}
    with override_settings(LEAKLEDGER_SQL_CACHE="on"):
        first = snapshot(run(registry, "a"))
        hits = SELECTS.hits
        second = snapshot(run(registry, "b"))
        hit = SELECTS.hits > hits
    assert first == expected["a"]
    assert second == expected["b"]
    assert hit, f"{shape}: the second run compiled everything again"


def _union():
    one, other = (DatasetVersion.objects.filter(dataset__name=n).order_by() for n in "ab")
    return one.union(other).order_by("pk")


def _first_record_set():
    from django.db.models import OuterRef, Subquery

    first = RecordSet.objects.filter(version=OuterRef("pk")).order_by("pk").values("pk")[:1]
    return DatasetVersion.objects.annotate(first_set=Subquery(first)).order_by("pk")


def test_queries_the_cache_leaves_to_django_are_still_right(registry):
    """A union, an ordering by expression and a subquery in an annotation (a new object each time,
    which would never give the same key) are not cached; they run as Django runs them."""
    from django.db.models import F

    def run():
        return [
            snapshot(list(_union())),
            snapshot(list(_versions(["a", "b"]).order_by(F("record_count").desc()))),
            snapshot(list(_first_record_set())),
        ]

    with override_settings(LEAKLEDGER_SQL_CACHE="off"):
        expected = run()
    with override_settings(LEAKLEDGER_SQL_CACHE="on"):
        for _ in range(2):
            bypassed, entries = SELECTS.bypassed, len(SELECTS)
            assert run() == expected
            assert SELECTS.bypassed >= bypassed + 3
        assert len(SELECTS) == entries  # the second round added nothing


def test_the_cached_statement_is_the_one_that_runs_and_verify_mode_catches_a_wrong_one(registry):
    """An entry changed behind the cache's back: "on" runs it (the cache is really used), "verify" fails."""
    with override_settings(LEAKLEDGER_SQL_CACHE="on"):
        assert len(list(_versions(["a"]))) == 1
        assert len(SELECTS) == 1
        ((key, (sql, state)),) = SELECTS._entries.items()
        SELECTS.put(key, (sql.replace(" WHERE ", " WHERE 1 = 0 AND "), state))
        assert list(_versions(["b"])) == []
    with (
        override_settings(LEAKLEDGER_SQL_CACHE="verify"),
        pytest.raises(CompiledSelectMismatch, match="1 = 0"),
    ):
        list(_versions(["b"]))
    with override_settings(LEAKLEDGER_SQL_CACHE="off"):
        hits = SELECTS.hits
        assert len(list(_versions(["b"]))) == 1
        assert SELECTS.hits == hits


def test_the_backends_are_djangos_with_the_cache(registry):
    assert connection.settings_dict["ENGINE"] in ("registry.db.sqlite3", "registry.db.postgresql")
    assert connection.vendor in ("sqlite", "postgresql")  # what the code that differs per database asks
    assert type(connection.ops).compiler_module == f"{connection.settings_dict['ENGINE']}.compiler"
