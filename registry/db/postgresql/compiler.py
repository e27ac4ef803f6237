from django.db.backends.postgresql import compiler

from ..compiled import CachedSelectMixin

SQLAggregateCompiler = compiler.SQLAggregateCompiler
SQLDeleteCompiler = compiler.SQLDeleteCompiler
SQLInsertCompiler = compiler.SQLInsertCompiler
SQLUpdateCompiler = compiler.SQLUpdateCompiler


class SQLCompiler(CachedSelectMixin, compiler.SQLCompiler):
    pass
