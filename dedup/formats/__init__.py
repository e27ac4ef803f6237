"""Readers for each file format supported by :func:`dedup.parsing.iter_records` (internal)."""
