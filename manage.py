#!/usr/bin/env python
"""Command-line entry point of the example project."""

import os
import sys


def main() -> None:
    """Run a Django management command against ``example_project.settings``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as e:
        raise ImportError(
            "Couldn't import Django. Is it installed and is the virtualenv active?"
        ) from e
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
