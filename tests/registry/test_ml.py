"""Model versions with training ancestry through their bases; evaluations with per-record scores."""

import pytest

from registry.errors import Conflict, InputRejected, NotFound, RegistryError
from registry.models import Evaluation, EvaluationScore
from registry.selectors import lineage, training_ancestry
from registry.services import (
    dataset_version_register,
    evaluation_record,
    model_version_register,
    parse_metrics,
    split_register,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bind(data_dir, bind_all, bind_mapping):
    version = dataset_version_register(path=bind_all, dataset_name="flip-bind", kind="protein").version
    split_register(version_ref="flip-bind@1", name="ovm", mapping_path=bind_mapping, allow_shared_ids=True)
    return version


def test_training_ancestry_follows_bases(bind, bind_test):
    dataset_version_register(path=bind_test, dataset_name="bind-test", kind="protein")
    base = model_version_register(ref="net@1", trained_on=["flip-bind@1/ovm:train"])
    tuned = model_version_register(ref="net-ft@1", trained_on=["bind-test@1"], base="net@1")
    twice = model_version_register(ref="net-ft2@1", trained_on=[], base="net-ft@1")
    assert [rs.ref for rs in training_ancestry(base)] == ["flip-bind@1/ovm:train"]
    assert {rs.ref for rs in training_ancestry(twice)} == {"flip-bind@1/ovm:train", "bind-test@1"}
    assert lineage("net@1")["fine_tuned"] == ["net-ft@1", "net-ft2@1"]
    assert lineage("net-ft2@1")["bases"] == ["net-ft@1", "net@1"]
    assert tuned.base == base


def test_model_versions_are_immutable_and_references_checked(bind):
    model_version_register(ref="net@1", trained_on=["flip-bind@1"])
    with pytest.raises(Conflict, match="immutable"):
        model_version_register(ref="net@1", trained_on=["flip-bind@1"])
    with pytest.raises(NotFound, match="no split part ovm:nope"):
        model_version_register(ref="net@2", trained_on=["flip-bind@1/ovm:nope"])
    with pytest.raises(NotFound, match="No model version 'ghost@1'"):
        model_version_register(ref="net@3", trained_on=["flip-bind@1"], base="ghost@1")
    with pytest.raises(RegistryError, match="needs --trained-on"):
        model_version_register(ref="net@4", trained_on=[])


def test_metrics_are_parsed_strictly():
    assert parse_metrics(["auc=0.91", "f1 = 0.5"]) == {"auc": 0.91, "f1": 0.5}
    for bad, message in [
        (["auc"], "NAME=VALUE"),
        (["auc=high"], "not a number"),
        (["auc=nan"], "finite"),
        (["a=1", "a=2"], "twice"),
        ([], "at least one"),
    ]:
        with pytest.raises(RegistryError, match=message):
            parse_metrics(bad)


def test_evaluation_with_per_record_scores(bind, tmp_path):
    model_version_register(ref="net@1", trained_on=["flip-bind@1/ovm:train"])
    test_ids = list(bind.records.filter(parts__name="test").values_list("identifier", flat=True))
    scores = tmp_path / "scores.tsv"
    scores.write_text(
        "id\tacc\tloss\n" + "".join(f"{i}\t{n % 2}\t{n / 10}\n" for n, i in enumerate(test_ids))
    )
    evaluation = evaluation_record(
        model_ref="net@1", on_ref="flip-bind@1/ovm:test", metrics={"acc": 0.5}, scores_path=scores
    )
    assert evaluation.scores_metric_names == ["acc", "loss"]
    assert EvaluationScore.objects.filter(evaluation=evaluation).count() == 2 * 250
    assert lineage(str(evaluation.uuid))["model"] == "net@1"


def test_scores_for_records_outside_the_set_reject_the_evaluation(bind, tmp_path):
    model_version_register(ref="net@1", trained_on=["flip-bind@1/ovm:train"])
    train_only = bind.records.exclude(parts__name="test").values_list("identifier", flat=True).first()
    scores = tmp_path / "s.csv"
    scores.write_text(f"id,acc\n{train_only},1\n")
    with pytest.raises(InputRejected, match=rf"s.csv, line 2: record '{train_only}' is not in the evaluated"):
        evaluation_record(
            model_ref="net@1", on_ref="flip-bind@1/ovm:test", metrics={"acc": 1}, scores_path=scores
        )
    nonnumeric = tmp_path / "n.csv"
    test_id = bind.records.filter(parts__name="test").values_list("identifier", flat=True).first()
    nonnumeric.write_text(f"id,acc\n{test_id},good\n")
    with pytest.raises(InputRejected, match="acc='good' is not a number"):
        evaluation_record(
            model_ref="net@1", on_ref="flip-bind@1/ovm:test", metrics={"acc": 1}, scores_path=nonnumeric
        )
    assert Evaluation.objects.count() == 0 and EvaluationScore.objects.count() == 0
