"""The CI matrix, as nox sessions (``.ci/run`` runs them; ``nox -l`` lists them).

    tests(sqlite), tests(postgresql), tests(mariadb)
                    the full suite on each database (DATABASE_URL)
    django_oldest   Django 5.2.x and the oldest supported dependencies, on Python
                    3.10 (the oldest supported Python): the core suite
    django_newest   the newest Django 6.x on Python 3.13: the core suite
    lint            ruff check, ruff format --check, mypy skips (django-stubs and
                    djangorestframework-stubs)
    deprecations    the full suite on the newest Django and Python, with every
                    DeprecationWarning an error

The core suite is ``tests/`` without the tests marked ``live`` (those start the
example project in another process). Interpreters are found in pyenv's versions
(``$PYENV_ROOT/versions/3.10.*``), then on PATH; none is ever downloaded. Under
``CI=true`` a missing interpreter fails its session instead of skipping it.

The database sessions talk to the servers on this machine: PostgreSQL at
``$SKIPS_POSTGRES_URL`` and MariaDB at ``$SKIPS_MARIADB_URL`` (defaults below).
nox runs from the project's ``.venv`` (.ci/run); Python 3.10 needs ``tomli`` for it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

try:
    import tomllib
except ModuleNotFoundError:  # nox run by Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parent
ON_CI = os.environ.get("CI") == "true"

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = ON_CI
nox.options.sessions = ["tests", "django_oldest", "django_newest", "lint", "deprecations"]

OLDEST_PYTHON = "3.10"
NEWEST_PYTHON = "3.13"
#: The oldest release of each runtime dependency that pyproject.toml allows.
OLDEST_DEPENDENCIES = (
    "Django~=5.2.0",
    "djangorestframework~=3.16.0",
    "django-filter~=24.3",
    "drf-spectacular~=0.28.0",
)
NEWEST_DJANGO = "Django>=6,<7"
DATABASES = {
    "sqlite": ("test", "sqlite:///:memory:"),
    "postgresql": (
        "test,postgres",
        os.environ.get("SKIPS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    ),
    "mariadb": (
        "test,mysql",
        os.environ.get("SKIPS_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
    ),
}
CORE_SUITE = ("-m", "not live")
SQLITE_URL = DATABASES["sqlite"][1]
#: Third-party DeprecationWarnings the deprecations session lets through, each
#: narrowed to the module that raises it. See ``deprecations`` below.
THIRD_PARTY_DEPRECATIONS: tuple[str, ...] = ()


def _pyenv_pythons(version: str) -> list[Path]:
    """pyenv's ``python{version}`` executables, oldest patch release first."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found: list[tuple[tuple[int, ...], Path]] = []
    for directory in root.glob(f"{version}.*"):
        if re.fullmatch(rf"{re.escape(version)}\.\d+", directory.name):
            executable = directory / "bin" / f"python{version}"
            if executable.is_file() and os.access(executable, os.X_OK):
                patch = tuple(int(part) for part in directory.name.split("."))
                found.append((patch, executable))
    return [path for _, path in sorted(found)]


def _put_on_path(version: str) -> None:
    """Put the newest pyenv ``python{version}`` first on PATH, where nox looks."""
    pythons = _pyenv_pythons(version)
    if pythons:
        os.environ["PATH"] = f"{pythons[-1].parent}{os.pathsep}{os.environ.get('PATH', '')}"


for _version in (OLDEST_PYTHON, NEWEST_PYTHON):
    _put_on_path(_version)


def _dev_tools() -> list[str]:
    """The ``dev`` extra of pyproject.toml, less the test stack it pulls in."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    return [req for req in extras["dev"] if not req.startswith("django-skips")]


@nox.session
@nox.parametrize("database", [nox.param(name, id=name) for name in DATABASES])
def tests(session: nox.Session, database: str) -> None:
    """The full suite on one database."""
    extras, url = DATABASES[database]
    session.install("-e", f".[{extras}]")
    session.run("pytest", *session.posargs, env={"DATABASE_URL": url})


@nox.session(python=OLDEST_PYTHON)
def django_oldest(session: nox.Session) -> None:
    """Django 5.2.x with the oldest dependencies allowed, on the oldest Python."""
    session.install("-e", ".[test]", *OLDEST_DEPENDENCIES)
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    session.run("pytest", *CORE_SUITE, *session.posargs, env={"DATABASE_URL": SQLITE_URL})


@nox.session(python=NEWEST_PYTHON)
def django_newest(session: nox.Session) -> None:
    """The newest Django 6.x, on the newest Python."""
    session.install("-e", ".[test]", NEWEST_DJANGO)
    session.run("pytest", *CORE_SUITE, *session.posargs, env={"DATABASE_URL": SQLITE_URL})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and mypy with the Django and REST framework plugins."""
    session.install("-e", ".[example]", *_dev_tools())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "skips")


@nox.session(python=NEWEST_PYTHON)
def deprecations(session: nox.Session) -> None:
    """The full suite with DeprecationWarning as an error, on the newest Django.

    Only third-party warnings listed in THIRD_PARTY_DEPRECATIONS are let
    through, each for the one module that raises it.
    """
    session.install("-e", ".[test]", NEWEST_DJANGO)
    filters = [arg for spec in THIRD_PARTY_DEPRECATIONS for arg in ("-W", spec)]
    session.run(
        "python",
        "-W",
        "error::DeprecationWarning",
        "-m",
        "pytest",
        *filters,
        *session.posargs,
        # The example project's processes, started by the live tests, too.
        env={"DATABASE_URL": SQLITE_URL, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )
