"""Token authentication that takes ``Authorization: Token <key>`` and ``Authorization: Bearer <key>``.

``Bearer`` is what generated clients (openapi-python-client's ``AuthenticatedClient``) and most HTTP
libraries send by default; ``Token`` is DRF's. The key is the same either way.

The key is looked up as DRF does (the token and its user, one query, an inactive user refused), by a
statement built once per process instead of a queryset built on every request: an authenticated
request paid about 0.25 ms of Python for that queryset, a tenth of its time (benchmarks/README.md,
API load).
"""

import weakref
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header

KEYWORDS = (b"token", b"bearer")


@cache
def _lookup(token_model, alias: str):
    """The statement that reads a user's columns and the token's ``created`` by key, the user's field
    names, and the columns with a memo of their converters per connection (see :func:`_converters`)."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    user_model = get_user_model()
    users, tokens = qn(user_model._meta.db_table), qn(token_model._meta.db_table)
    user_fields = list(user_model._meta.concrete_fields)
    created = token_model._meta.get_field("created")
    columns = [f.get_col(user_model._meta.db_table) for f in user_fields]
    columns.append(created.get_col(token_model._meta.db_table))
    sql = (
        f"SELECT {', '.join(f'{users}.{qn(f.column)}' for f in user_fields)}, {tokens}.{qn(created.column)} "
        f"FROM {tokens} INNER JOIN {users} "
        f"ON {tokens}.{qn(token_model._meta.get_field('user').column)} = {users}.{qn(user_model._meta.pk.column)} "
        f"WHERE {tokens}.{qn(token_model._meta.pk.column)} = %s"
    )
    return sql, [f.attname for f in user_fields], columns, weakref.WeakKeyDictionary()


def _converters(columns, memo, connection) -> list:
    """What Django's compiler applies to each column's value (booleans and datetimes on SQLite, for
    one), once per connection: they are bound to its operations, and each thread has its own."""
    found = memo.get(connection)
    if found is None:
        found = memo[connection] = [
            (col, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)])
            for col in columns
        ]
    return found


class TokenOrBearerAuthentication(TokenAuthentication):
    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        scheme = auth[0].decode("latin-1")
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(
                f"Invalid token header: give 'Authorization: {scheme} <key>' with the key and no spaces in it."
            )
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the key has invalid characters."
            ) from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key):
        token_model = self.get_model()
        alias = token_model.objects.db
        sql, user_fields, columns, memo = _lookup(token_model, alias)
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        values = []
        for value, (col, converters) in zip(row, _converters(columns, memo, connection), strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        user = get_user_model().from_db(alias, user_fields, values[:-1])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        meta = token_model._meta
        token = token_model.from_db(
            alias,
            [meta.pk.attname, meta.get_field("user").attname, meta.get_field("created").attname],
            [key, user.pk, values[-1]],
        )
        token.user = user
        return user, token


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    target_class = TokenOrBearerAuthentication
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "An API key in the Authorization header: `Token <key>` or `Bearer <key>` (the same key). "
            "Create one with `python manage.py create_token USER`.",
        }
