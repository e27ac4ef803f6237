"""One rule for models registered from the command line (no owner: the operator's), as for datasets:
over the API only staff may add to them, versions and evaluations alike."""

import pytest
from django.contrib.auth import get_user_model

from registry.models import Evaluation
from registry.services import evaluation_record, model_version_register

from .conftest import _client
from .test_views_datasets import assert_error_shape

pytestmark = pytest.mark.django_db

ON = "flip-bind@1/one_vs_many:test"


@pytest.fixture
def operator_model(one_vs_many):
    return model_version_register(ref="cli-binder@1", trained_on=["flip-bind@1/one_vs_many:train"])


@pytest.fixture
def staff_client(db):
    return _client(get_user_model().objects.create_user("stella", is_staff=True))


def evaluate(client, ref="cli-binder@1"):
    return client.post(
        "/api/v1/evaluations/", {"model_version": ref, "on": ON, "metrics": {"auc": 0.9}}, format="json"
    )


def test_only_staff_may_evaluate_an_operator_model_over_the_api(
    operator_model, other_client, owner_client, staff_client
):
    assert operator_model.model.owner is None
    assert "staff" in assert_error_shape(evaluate(other_client), 403, "permission_denied")["detail"]
    assert_error_shape(evaluate(owner_client), 403, "permission_denied")
    assert not Evaluation.objects.exists()
    assert evaluate(staff_client).status_code == 201


def test_the_operator_evaluates_from_the_command_line(operator_model):
    evaluation = evaluation_record(model_ref="cli-binder@1", on_ref=ON, metrics={"auc": 0.5})
    assert evaluation.created_by is None


def test_model_versions_follow_the_same_rule(operator_model, other_client, staff_client):
    body = {"ref": "cli-binder@2", "trained_on": ["flip-bind@1/one_vs_many:train"]}
    assert_error_shape(other_client.post("/api/v1/model-versions/", body, format="json"), 403)
    assert staff_client.post("/api/v1/model-versions/", body, format="json").status_code == 201


def test_an_owned_model_is_evaluated_by_its_owner_and_staff_only(
    one_vs_many, owner, owner_client, other_client, staff_client
):
    model_version_register(ref="mine@1", trained_on=["flip-bind@1/one_vs_many:train"], user=owner)
    assert_error_shape(evaluate(other_client, "mine@1"), 403)
    assert evaluate(owner_client, "mine@1").status_code == 201
    assert evaluate(staff_client, "mine@1").status_code == 201
