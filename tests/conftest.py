from __future__ import annotations

import base64
import os
from typing import Any

import pytest
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    """Under CI=true a skipped test fails: nothing the tests need may be missing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which needs every part: {report.longrepr}"
