"""The CI matrix, as nox sessions (``.ci/run`` runs them; ``nox -l`` lists them).

    tests(sqlite), tests(postgresql), tests(mariadb)
                    the full suite on each database (DATABASE_URL)
    tests(replica)  the tests of a primary and its replica (tests/test_replica.py):
                    PostgreSQL and a streaming replica of it, which .ci/replica
                    starts on port 5433; reads routed to the replica
    django_oldest   Django 5.2.x and the oldest supported dependencies, on Python
                    3.10 (the oldest supported Python): the core suite
    django_newest   the newest Django 6.x on Python 3.13: the core suite
    lint            ruff check, ruff format --check, mypy --strict skips (django-stubs
                    and djangorestframework-stubs), lint-imports (no import cycle)
    deprecations    the full suite on the newest Django and Python, with every
                    DeprecationWarning an error
    wheel           build the sdist and the wheel, check them (twine check
                    --strict, LICENSE in both, no tests in the sdist, known
                    classifiers), and run the full suite against the installed
                    wheel from a copy of the tests (no ``skips/`` beside them)
    docs            build the documentation (Sphinx, docs/) with warnings as errors
    translations    makemessages finds nothing new in skips/locale, every message is
                    translated (de, fr, es), compilemessages succeeds

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
import shutil
import tarfile
import zipfile
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
nox.options.sessions = [
    "tests",
    "django_oldest",
    "django_newest",
    "lint",
    "deprecations",
    "wheel",
    "docs",
    "translations",
]

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
#: What the suite installs: the tests of every driver's error codes need both
#: drivers, whatever the database the session runs on.
TEST_EXTRAS = "test,postgres,mysql"
DATABASES = {
    "sqlite": "sqlite:///:memory:",
    "postgresql": os.environ.get("SKIPS_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("SKIPS_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
#: The replica session: the primary of tests(postgresql) and its streaming
#: replica ($SKIPS_POSTGRES_REPLICA_URL), with the settings that route reads to it.
REPLICA_ENV = {
    "DATABASE_URL": DATABASES["postgresql"],
    "DATABASE_REPLICA_URL": os.environ.get(
        "SKIPS_POSTGRES_REPLICA_URL", "postgres://postgres@127.0.0.1:5433/test"
    ),
}
REPLICA_TESTS = ("--ds", "tests.settings_replica", "tests/test_replica.py")
CORE_SUITE = ("-m", "not live")
SQLITE_URL = DATABASES["sqlite"]
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
@nox.parametrize("database", [nox.param(name, id=name) for name in [*DATABASES, "replica"]])
def tests(session: nox.Session, database: str) -> None:
    """The full suite on one database; "replica": the tests of a primary and its replica."""
    if database == "replica":
        session.install("-e", ".[test,postgres]")
        session.run("pytest", *REPLICA_TESTS, *session.posargs, env=REPLICA_ENV)
        return
    url = DATABASES[database]
    session.install("-e", f".[{TEST_EXTRAS}]")
    session.run("pytest", *session.posargs, env={"DATABASE_URL": url})


@nox.session(python=OLDEST_PYTHON)
def django_oldest(session: nox.Session) -> None:
    """Django 5.2.x with the oldest dependencies allowed, on the oldest Python."""
    session.install("-e", f".[{TEST_EXTRAS}]", *OLDEST_DEPENDENCIES)
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    session.run("pytest", *CORE_SUITE, *session.posargs, env={"DATABASE_URL": SQLITE_URL})


@nox.session(python=NEWEST_PYTHON)
def django_newest(session: nox.Session) -> None:
    """The newest Django 6.x, on the newest Python."""
    session.install("-e", f".[{TEST_EXTRAS}]", NEWEST_DJANGO)
    session.run("pytest", *CORE_SUITE, *session.posargs, env={"DATABASE_URL": SQLITE_URL})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict (pyproject's [tool.mypy]) and the import contracts."""
    session.install("-e", ".[example]", *_dev_tools())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "skips")
    session.run("lint-imports", env={"DJANGO_SETTINGS_MODULE": "tests.settings"})


@nox.session(python=NEWEST_PYTHON)
def deprecations(session: nox.Session) -> None:
    """The full suite with DeprecationWarning as an error, on the newest Django.

    Only third-party warnings listed in THIRD_PARTY_DEPRECATIONS are let
    through, each for the one module that raises it.
    """
    session.install("-e", f".[{TEST_EXTRAS}]", NEWEST_DJANGO)
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


#: What the suite needs beside the package, copied for the wheel session; with
#: pyproject.toml for pytest's configuration (``pythonpath = ["."]`` is then
#: the copy, which has no ``skips/``).
SUITE_FILES = ("tests", "example_project", "manage.py", "pyproject.toml")
#: The sdist carries no tests: none of these folders, no test module anywhere.
NOT_IN_SDIST = ("tests/", "example_project/", "benchmarks/")
#: Loaded by pytest from the copy's top: the suite stops before its first test
#: unless ``skips`` is the installed wheel's, and says which it is.
WHEEL_CONFTEST = """\
import sysconfig
from pathlib import Path

import pytest

import skips

SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"]).resolve()
SKIPS = Path(skips.__file__).resolve()


def pytest_report_header() -> str:
    return f"skips {skips.__version__} from {SKIPS}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if SITE_PACKAGES not in SKIPS.parents:
        raise pytest.UsageError(f"skips imported from {SKIPS}, not from {SITE_PACKAGES}")
"""
#: Run in the session: every classifier of the wheel is a known, current one
#: (the package index refuses others; twine does not check them).
CHECK_CLASSIFIERS = """\
import sys, zipfile
from email.parser import HeaderParser
from trove_classifiers import classifiers, deprecated_classifiers

with zipfile.ZipFile(sys.argv[1]) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = HeaderParser().parsestr(whl.read(name).decode())
declared = metadata.get_all("Classifier") or []
bad = [c for c in declared if c not in classifiers or c in deprecated_classifiers]
print(f"{len(declared)} classifiers, unknown or deprecated: {bad or 'none'}")
sys.exit(1 if bad or not declared else 0)
"""


def _check_dists(session: nox.Session, sdist: Path, wheel: Path) -> None:
    """LICENSE in both; no tests in the sdist (nor in the wheel)."""
    with tarfile.open(sdist) as tar:
        # Names below the sdist's top folder (django_skips-X.Y.Z/).
        in_sdist = [name.partition("/")[2] for name in tar.getnames()]
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = whl.namelist()
    problems = []
    if "LICENSE" not in in_sdist:
        problems.append(f"{sdist.name} has no LICENSE")
    if not any(re.fullmatch(r"[^/]+\.dist-info/licenses/LICENSE", n) for n in in_wheel):
        problems.append(f"{wheel.name} has no .dist-info/licenses/LICENSE")
    for dist, names in ((sdist, in_sdist), (wheel, in_wheel)):
        tests = [
            n
            for n in names
            if n.startswith(NOT_IN_SDIST) or re.search(r"(^|/)(test_[^/]*|conftest)\.py$", n)
        ]
        if tests:
            problems.append(f"{dist.name} carries tests: {', '.join(tests[:5])}")
    if problems:
        session.error("; ".join(problems))
    session.log(f"{sdist.name}: {len(in_sdist)} entries; {wheel.name}: {len(in_wheel)} files")


@nox.session
def wheel(session: nox.Session) -> None:
    """The packages as users get them: built, checked, installed, tested.

    ``python -m build`` makes the sdist, then the wheel from the sdist. The wheel
    (never editable) goes into this session's venv, and the full suite runs on
    SQLite from a copy of ``tests/``, ``example_project/`` and ``manage.py``
    beside no ``skips/``, so that every import of ``skips``, the live example
    project's included, is the wheel's.
    """
    tools = [req for req in _dev_tools() if re.match(r"(build|twine)\b", req)]
    session.install(*tools, "trove-classifiers")
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        session.error(f"expected one sdist and one wheel in {dist}, got {sdists + wheels}")
    sdist, wheel = sdists[0], wheels[0]
    session.run("twine", "check", "--strict", str(sdist), str(wheel))
    _check_dists(session, sdist, wheel)
    session.run("python", "-c", CHECK_CLASSIFIERS, str(wheel))

    # The wheel with the test stack, then the wheel again over whatever version
    # of it a reused venv holds.
    session.install(f"{wheel}[{TEST_EXTRAS}]")
    session.install("--force-reinstall", "--no-deps", str(wheel))

    suite = tmp / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    suite.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]")
    for name in SUITE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, suite / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, suite / name)
    (suite / "conftest.py").write_text(WHEEL_CONFTEST)
    session.chdir(suite)
    session.run("pytest", *session.posargs, env={"DATABASE_URL": SQLITE_URL})


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation, as users read it: every warning is an error.

    ``docs/conf.py`` sets up Django with the test host's settings (SQLite, no
    server), so that autodoc imports ``skips`` from this checkout.
    """
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        *session.posargs,
        "docs",
        "docs/_build/html",
        env={"DATABASE_URL": SQLITE_URL},
    )


#: How the message catalogues of ``skips/locale/`` are made, from ``skips/``:
#: ``django-admin makemessages -l de -l fr -l es --no-location --no-obsolete``
#: (no settings needed). No source locations, so that code moving between lines
#: or files leaves the catalogues alone; no obsolete entries kept. The default
#: extensions (html, txt, py) cover every template and module; skips has no
#: JavaScript, so no ``djangojs`` domain.
MAKEMESSAGES_OPTIONS = ("--no-location", "--no-obsolete")


@nox.session
def translations(session: nox.Session) -> None:
    """The catalogues of ``skips/locale/`` hold every message of the code, all translated.

    ``makemessages`` rewrites each language's ``django.po`` in the tree: any
    change but its ``POT-Creation-Date`` line fails the session (a message
    added or changed in the code, and not in the catalogues). The rewritten
    files stay, so translate their new entries and commit them. Then no message
    may be untranslated or fuzzy (``msgfmt --check --statistics``), and
    ``compilemessages`` compiles the ``.mo`` files the wheel ships. Needs GNU
    gettext (``apt-get install gettext``); without it the session is skipped,
    or fails under ``CI=true``.
    """
    if shutil.which("msgfmt") is None:
        message = "GNU gettext is missing: apt-get install gettext"
        if ON_CI:
            session.error(message)
        session.skip(message)
    session.install("-e", ".")
    locale = ROOT / "skips" / "locale"
    catalogues = sorted(locale.glob("*/LC_MESSAGES/django.po"))
    if not catalogues:
        session.error(f"no catalogue in {locale}")
    languages = [po.parents[1].name for po in catalogues]
    session.chdir(ROOT / "skips")
    session.run(
        "django-admin",
        "makemessages",
        *(f"--locale={language}" for language in languages),
        *MAKEMESSAGES_OPTIONS,
        env={"DJANGO_SETTINGS_MODULE": ""},
    )
    changes = session.run(
        "git",
        "-C",
        str(ROOT),
        "diff",
        '--ignore-matching-lines=^"POT-Creation-Date: ',
        "--",
        *(str(po.relative_to(ROOT)) for po in catalogues),
        external=True,
        silent=True,
    )
    if str(changes).strip():
        print(changes)
        session.error(
            "the catalogues are not the code's messages: makemessages has updated them "
            "in the tree (the diff above); translate every new or fuzzy entry, then "
            "compilemessages and commit the .po and .mo files"
        )
    untranslated = []
    for po in catalogues:
        statistics = session.run(
            "msgfmt",
            "--check",
            "--statistics",
            "-o",
            os.devnull,
            str(po),
            external=True,
            silent=True,
        )
        session.log(f"{po.relative_to(ROOT)}: {str(statistics).strip()}")
        if re.search(r"fuzzy|untranslated", str(statistics)):
            untranslated.append(po.parents[1].name)
    if untranslated:
        session.error(f"untranslated or fuzzy messages: {', '.join(untranslated)}")
    session.run("django-admin", "compilemessages", env={"DJANGO_SETTINGS_MODULE": ""})
