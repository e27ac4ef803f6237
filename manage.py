#!/usr/bin/env python
"""LeakLedger's command-line entry point (Django management commands)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a bad setting is the operator's to fix: one line, no traceback
        sys.exit(f"configuration error: {exc}")


if __name__ == "__main__":
    main()
