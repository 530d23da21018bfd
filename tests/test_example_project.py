"""The example project as people copy it: its settings, ``seed_demo``, its API docs.

Each test runs ``manage.py`` in a process of its own, on a scratch SQLite
database (a copy of one migrated once); the docs tests use the ``live`` server.

- No built-in secret key: without ``DJANGO_SECRET_KEY`` every command stops with
  a clear error, but ``manage.py demo`` (the README's first command), which
  makes up a throwaway key for its own run.
- ``DEBUG`` is off unless ``DJANGO_DEBUG=1``, the demo included (it serves the
  static files with runserver's ``--insecure``).
- ``seed_demo`` never changes an account it did not create: it stops, with a
  non-zero exit and a message, and changes nothing.
- ``/api/docs/`` and ``/api/schema/`` authenticate as the API does: no
  username and password unless ``SKIPS_ALLOW_PASSWORD_AUTH``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.live import ROOT, Live, free_port

pytestmark = pytest.mark.live

KEY = secrets.token_urlsafe(50)


def environment(db: Path | None, key: str | None = KEY, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["PYTHONUNBUFFERED"] = "1"
    if db is not None:
        env["DATABASE_URL"] = f"sqlite:///{db}"
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    return {**env, **extra}


def manage(*args: str, db: Path | None = None, key: str | None = KEY, **extra: str) -> Any:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=environment(db, key, **extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sql(db: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("example") / "migrated.sqlite3"
    result = manage("migrate", "--noinput", db=db)
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def db(migrated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "example.sqlite3"
    shutil.copy(migrated, copy)
    return copy


# Settings


@pytest.mark.parametrize("command", [["check"], ["migrate", "--noinput"], ["seed_demo"]])
def test_without_a_secret_key_every_command_stops(command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "unused.sqlite3"
    result = manage(*command, db=db, key=None)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert not db.exists() or not sql(db, "SELECT name FROM sqlite_master")


def test_an_empty_secret_key_is_no_key(tmp_path: Path) -> None:
    result = manage("check", db=tmp_path / "unused.sqlite3", key="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


SHOW = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


@pytest.mark.parametrize(
    ("debug", "expected"), [(None, "False"), ("0", "False"), ("", "False"), ("1", "True")]
)
def test_debug_is_off_unless_asked(debug: str | None, expected: str, db: Path) -> None:
    extra = {} if debug is None else {"DJANGO_DEBUG": debug}
    result = manage("shell", "-c", SHOW, db=db, **extra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [expected, KEY]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[str]:
    """The README's first command, ``manage.py demo``, serving; no key, no DEBUG."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "demo", "--addrport", f"127.0.0.1:{port}"],
        env=environment(tmp_path / "demo.sqlite3", key=None),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    output = server.communicate()[0]
                    raise RuntimeError(f"the demo did not start:\n{output}") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert "throwaway secret key" in output


def test_the_demo_serves_without_a_key_and_without_debug(demo_server: str) -> None:
    token = requests.get(
        f"{demo_server}/api/v2/skips.json",
        headers={"Authorization": "Bearer " + demo_token("agent1")},
        timeout=30,
    )
    assert token.status_code == 200
    assert requests.get(f"{demo_server}/static/admin/css/base.css", timeout=30).status_code == 200
    missing = requests.get(f"{demo_server}/no-such-page/", timeout=30)
    assert missing.status_code == 404
    assert "URLconf" not in missing.text  # no debug page
    login = requests.get(f"{demo_server}/admin/login/", timeout=30)
    assert login.status_code == 200
    assert "csrftoken" in login.cookies


def demo_token(username: str) -> str:
    from example_project.helpdesk.demo_accounts import demo_token as token

    return token(username)


# seed_demo never takes over an account it did not create


CREATE_OWN_ADMIN = (
    "from django.contrib.auth.models import User; "
    "User.objects.create_user('admin', 'boss@corp.example', 'own-password', first_name='Boss')"
)
USER_ROW = (
    "SELECT email, first_name, password, is_active, is_staff, is_superuser"
    " FROM auth_user WHERE username = ?"
)


@pytest.mark.parametrize("command", [["seed_demo"], ["demo", "--no-serve"]])
def test_seed_demo_stops_at_an_account_it_did_not_create(command: list[str], db: Path) -> None:
    assert manage("shell", "-c", CREATE_OWN_ADMIN, db=db).returncode == 0
    before = sql(db, USER_ROW, "admin")
    assert before[0][4:] == (0, 0)  # not staff, not superuser

    result = manage(*command, db=db, key=None if command[0] == "demo" else KEY)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "admin" in result.stderr
    assert "seed_demo never changes an account it did not create" in result.stderr
    assert "Traceback" not in result.stderr
    assert sql(db, USER_ROW, "admin") == before
    assert sql(db, "SELECT COUNT(*) FROM authtoken_token") == [(0,)]
    # It stopped before anything else: no other demo login, no ticket.
    assert sql(db, "SELECT username FROM auth_user") == [("admin",)]
    assert sql(db, "SELECT COUNT(*) FROM helpdesk_ticket") == [(0,)]


def test_seed_demo_stops_at_a_demo_account_whose_token_was_changed(db: Path) -> None:
    assert manage("seed_demo", "--skips", "0", db=db).returncode == 0
    reset = manage("drf_create_token", "--reset", "agent1", db=db)
    assert reset.returncode == 0, reset.stderr
    ((key,),) = sql(
        db,
        "SELECT t.key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id"
        " WHERE u.username = 'agent1'",
    )
    assert key != demo_token("agent1")

    result = manage("seed_demo", "--skips", "0", db=db)

    assert result.returncode == 1
    assert "agent1" in result.stderr
    assert sql(
        db,
        "SELECT t.key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id"
        " WHERE u.username = 'agent1'",
    ) == [(key,)]


def test_seed_demo_resets_the_accounts_it_created(db: Path) -> None:
    assert manage("seed_demo", "--skips", "10", db=db).returncode == 0
    sql(
        db,
        "UPDATE auth_user SET is_active = 0, email = 'moved@example.com' WHERE username = ?",
        "agent2",
    )

    result = manage("seed_demo", "--skips", "10", db=db)

    assert result.returncode == 0, result.stderr
    assert sql(db, "SELECT is_active, email FROM auth_user WHERE username = 'agent2'") == [
        (1, "agent2@example.com")
    ]


# The API docs authenticate as the API does


DOCS = ["/api/docs/", "/api/schema/?format=json"]


@pytest.mark.parametrize("path", DOCS)
def test_the_docs_are_public(path: str, live: Live) -> None:
    assert requests.get(f"{live.base}{path}", timeout=30).status_code == 200


@pytest.mark.parametrize("path", DOCS)
@pytest.mark.parametrize(
    "credentials",
    [("admin", "demo"), ("admin@example.com", "demo"), ("admin", "wrong"), ("x", "y")],
    ids=["username", "email", "wrong password", "unknown"],
)
def test_the_docs_take_no_password_when_the_api_does_not(
    path: str, credentials: tuple[str, str], live: Live
) -> None:
    response = requests.get(f"{live.base}{path}", auth=credentials, timeout=30)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("path", DOCS)
def test_the_docs_take_the_apis_tokens(path: str, live: Live) -> None:
    _, email, key = live.user("supervisor")
    basic = requests.get(f"{live.base}{path}", auth=(f"{email}/token", key), timeout=30)
    assert basic.status_code == 200
    bearer_ = requests.get(
        f"{live.base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert bearer_.status_code == 200
