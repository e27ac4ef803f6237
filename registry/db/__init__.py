"""Database backends: Django's PostgreSQL and SQLite backends with a cache of compiled SELECTs.

``config/settings.py`` names them as ``ENGINE`` in place of Django's own (``registry.db.postgresql``,
``registry.db.sqlite3``); everything else is Django's backend unchanged (``connection.vendor`` too).
See ``registry.db.compiled``.
"""
