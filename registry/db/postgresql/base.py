"""Django's PostgreSQL backend: its SELECT compiler behind the cache of ``registry.db.compiled``, and a
health check that costs no round trip while the connection is quiet."""

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as BaseOperations
from psycopg import pq


class DatabaseOperations(BaseOperations):
    compiler_module = "registry.db.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def close_if_health_check_failed(self):
        """Django's check of a persistent connection before a request's first query, by its socket first.

        With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` on every request that reuses a
        connection: a round trip to the server and about 7% of the Python time of a small API
        request (benchmarks/README.md, API load). A connection that is idle in autocommit has
        nothing to read; a server that ends it (a restart, ``pg_terminate_backend``, an idle
        timeout) first sends its FATAL message and closes the socket, which then polls readable.
        So a socket with nothing to read, on a connection psycopg holds as open and idle, is
        taken as usable with no query; anything else (something to read, a broken or closed
        connection, an open transaction) gets Django's own check, which closes a dead connection
        so that the request's first query opens a new one. The race left (the server going away
        between the check and the query) is the one ``SELECT 1`` leaves as well.
        """
        if self.connection is None or not self.health_check_enabled or self.health_check_done or self.pool:
            return super().close_if_health_check_failed()
        if self._quiet():
            self.health_check_done = True
            return None
        return super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        """Open, idle, and nothing waiting on the socket (a poll with no timeout)."""
        conn = self.connection
        if conn.closed or conn.broken or conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError, base.Database.Error):  # no usable descriptor: Django's check decides
            return False
