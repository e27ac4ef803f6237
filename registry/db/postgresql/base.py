"""Django's PostgreSQL backend, its SELECT compiler behind the cache of ``registry.db.compiled``."""

from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as BaseOperations


class DatabaseOperations(BaseOperations):
    compiler_module = "registry.db.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
