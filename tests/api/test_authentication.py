"""Token authentication (api/authentication.py): the same answers as DRF's own lookup, by its statement."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from api.authentication import TokenOrBearerAuthentication

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    user = get_user_model().objects.create_user(
        "mira", email="mira@example.org", first_name="Mira", is_staff=True
    )
    user.last_login = timezone.now() - datetime.timedelta(days=3)
    user.save()
    return user


def test_a_key_gives_the_user_and_token_drf_gives(member):
    key = Token.objects.create(user=member).key
    ours_user, ours_token = TokenOrBearerAuthentication().authenticate_credentials(key)
    drf_user, drf_token = TokenAuthentication().authenticate_credentials(key)
    for field in get_user_model()._meta.concrete_fields:  # every column, with its Python type
        ours, theirs = getattr(ours_user, field.attname), getattr(drf_user, field.attname)
        assert (ours, type(ours)) == (theirs, type(theirs)), field.name
    assert (ours_token.key, ours_token.user_id, ours_token.created) == (
        drf_token.key,
        drf_token.user_id,
        drf_token.created,
    )
    assert ours_token.user is ours_user
    assert not ours_user._state.adding  # a row from the database: saving it updates, never inserts


def test_an_unknown_key_and_an_inactive_user_are_refused_as_drf_refuses_them(member):
    key = Token.objects.create(user=member).key
    for lookup in (TokenOrBearerAuthentication(), TokenAuthentication()):
        with pytest.raises(AuthenticationFailed, match="Invalid token"):
            lookup.authenticate_credentials(key[:-1] + ("0" if key[-1] != "0" else "1"))
    member.is_active = False
    member.save()
    for lookup in (TokenOrBearerAuthentication(), TokenAuthentication()):
        with pytest.raises(AuthenticationFailed, match="User inactive or deleted"):
            lookup.authenticate_credentials(key)


def test_a_revoked_key_is_refused_on_the_next_request(member, client):
    token = Token.objects.create(user=member)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token.key}"}
    assert client.get("/api/v1/datasets/", **headers).status_code == 200
    token.delete()
    response = client.get("/api/v1/datasets/", **headers)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
