"""This deployment's MMseqs2: the program ``LEAKLEDGER_MMSEQS_PATH`` names, within ``LEAKLEDGER_THREADS``.

Every registry path that runs MMseqs2 (standing checks, split generation and verification, their
management commands) takes its settings from here, so a deployment that installs MMseqs2 outside
``PATH`` is used everywhere, and a worker running several jobs never gives one of them every CPU.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings as django_settings

from dedup import mmseqs as dedup_mmseqs


def mmseqs_path() -> str:
    return django_settings.LEAKLEDGER.get("MMSEQS_PATH", "mmseqs")


def deployment_mmseqs(**overrides) -> dedup_mmseqs.MmseqsSettings:
    """MMseqs2 settings for this deployment; ``overrides`` (e.g. ``threads``) replace its fields.

    Threads default to ``LEAKLEDGER_THREADS`` (each job's share of the CPUs).
    """
    base = dedup_mmseqs.capped(
        dedup_mmseqs.MmseqsSettings(executable=mmseqs_path()), django_settings.LEAKLEDGER["THREADS"]
    )
    return replace(base, **overrides) if overrides else base


def mmseqs_available() -> bool:
    """Whether this deployment's MMseqs2 can be run."""
    return dedup_mmseqs.available(mmseqs_path())
