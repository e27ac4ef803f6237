"""Django's SQLite backend, its SELECT compiler behind the cache of ``registry.db.compiled``."""

from django.db.backends.sqlite3 import base
from django.db.backends.sqlite3.operations import DatabaseOperations as BaseOperations


class DatabaseOperations(BaseOperations):
    compiler_module = "registry.db.sqlite3.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
