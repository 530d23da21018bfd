"""Run Django commands and scripts in a fresh process, with settings of a test's own.

``write_settings(tmp_path, SKIPS_TICKET_MODEL="testapp.Cse")`` writes a settings
module based on ``tests.settings`` (a SQLite file in ``tmp_path``, whatever
``DATABASE_URL`` says), and ``run(...)`` runs ``python -m django`` or a script
with it, the repository and ``tmp_path`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
#: ``write_settings(NAME=DELETE)`` removes NAME from the settings.
DELETE = object()
TIMEOUT = 60

_names = itertools.count()


def write_settings(tmp_path: Path, code: str = "", **settings: Any) -> str:
    """Write a settings module into ``tmp_path`` and return its name.

    It starts from ``tests.settings`` with one SQLite file per module in
    ``tmp_path``, runs ``code``, then sets each of ``settings`` (by ``repr``;
    ``DELETE`` removes the name).
    """
    name = f"host_settings_{next(_names)}"
    lines = [
        "from tests.settings import *  # noqa: F403",
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',"
        f" 'NAME': {str(tmp_path / (name + '.sqlite3'))!r}}}}}",
        code,
    ]
    for setting, value in settings.items():
        lines.append(f"del {setting}" if value is DELETE else f"{setting} = {value!r}")
    (tmp_path / f"{name}.py").write_text("\n".join(lines) + "\n")
    return name


@dataclass
class Result:
    args: Sequence[str]
    returncode: int
    output: str  # stdout and stderr

    def __str__(self) -> str:
        return f"$ {' '.join(self.args)}  (exit {self.returncode})\n{self.output}"


def command(*args: str) -> list[str]:
    """``python -m django ARGS``."""
    return [sys.executable, "-m", "django", *args]


def script(code: str) -> list[str]:
    """``python -c CODE``, after ``django.setup()``."""
    return [sys.executable, "-c", f"import django\ndjango.setup()\n{code}"]


def run(tmp_path: Path, settings: str, *commands: list[str]) -> list[Result]:
    """Run ``commands`` at once with ``settings``; their results, in order."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
        PYTHONDONTWRITEBYTECODE="1",
    )
    processes = [
        (
            args,
            subprocess.Popen(
                args,
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            ),
        )
        for args in commands
    ]
    results = []
    for args, process in processes:
        try:
            output, _ = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            output += f"\n[killed after {TIMEOUT}s]"
        results.append(Result(args, process.returncode, output))
    return results
