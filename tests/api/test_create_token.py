"""``manage.py create_token``: prints a token that authenticates API writes."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_create_token_creates_the_user_and_is_stable():
    token = run("alice", "--create-user")
    assert len(token) == 40
    assert run("alice") == token
    assert run("alice", "--reset") != token
    assert get_user_model().objects.filter(username="alice").count() == 1


def test_unknown_user_without_create_user_fails():
    with pytest.raises(CommandError, match="--create-user"):
        run("nobody")


def test_the_token_authenticates_a_write():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {run('bob', '--create-user')}")
    response = client.post("/api/v1/model-versions/", {"ref": "m@1", "trained_on": ["x@1"]}, format="json")
    assert response.status_code == 404  # authenticated; the training set does not exist
