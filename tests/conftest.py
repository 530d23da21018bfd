from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from tests import factories
from tests.live import live  # noqa: F401  (a session fixture)


def token_of(user: Any) -> str:
    return user.auth_token.key


def basic(user: Any, key: str | None = None) -> str:
    raw = f"{user.email}/token:{key or token_of(user)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Client(APIClient):
    """An API client that sends JSON unless told otherwise."""

    def post_json(self, path: str, data: Any, **extra: Any) -> Any:
        return self.post(path, data, format="json", **extra)


#: Debian's Chromium, started as this machine allows (no sandbox, no network of its own).
CHROMIUM = Path(os.environ.get("SKIPS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright, for the browser tests."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture
def agent(db: Any) -> Any:
    return factories.AgentFactory()


@pytest.fixture
def other_agent(db: Any) -> Any:
    return factories.AgentFactory()


@pytest.fixture
def supervisor(db: Any) -> Any:
    return factories.SupervisorFactory()


@pytest.fixture
def end_user(db: Any) -> Any:
    return factories.UserFactory()


@pytest.fixture
def superuser(db: Any) -> Any:
    user = factories.UserFactory(is_superuser=True, is_staff=True)
    return user


def client_for(user: Any | None) -> Client:
    """A client authenticated as ``user`` with its API token (anonymous for None)."""
    c = Client()
    if user is not None:
        c.credentials(HTTP_AUTHORIZATION=basic(user))
    return c


@pytest.fixture
def as_user() -> Any:
    return client_for


#: A skip whose reason starts with this is expected on other databases: the
#: PostgreSQL stage of CI runs those tests.
POSTGRESQL_ONLY = "postgresql only"
#: The same for the tests that read a replica: the replica session (nox -s
#: "tests(replica)", settings ``tests.settings_replica``) runs those.
REPLICA_ONLY = "replica session only"


def _must_not_skip(report: Any) -> bool:
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return False
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)
    on_postgresql = connection.vendor == "postgresql"
    if reason.startswith(f"Skipped: {REPLICA_ONLY}"):
        return "replica" in settings.DATABASES
    return not (reason.startswith(f"Skipped: {POSTGRESQL_ONLY}") and not on_postgresql)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Under CI=true a skipped test fails: nothing the tests need may be missing."""
    outcome = yield
    report = outcome.get_result()
    if _must_not_skip(report):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which needs every part: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: Any) -> Any:
    """The same for a module skipped as a whole."""
    outcome = yield
    report = outcome.get_result()
    if _must_not_skip(report):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which needs every part: {report.longrepr}"
