"""The OpenAPI description inside a host whose schema covers its own views too.

``tests/hosts/spectacular_host`` has a view of its own behind REST framework's
``BasicAuthentication`` and ``SessionAuthentication`` and keeps drf-spectacular's
defaults (``SERVE_INCLUDE_SCHEMA`` on). ``manage.py spectacular --validate
--fail-on-warn`` runs there as a host would run it, in its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "tests.hosts.spectacular_host.settings"
#: With the app's default ticket serializer: its columns typed as the model's.
DEFAULT_SERIALIZER_SETTINGS = "tests.hosts.spectacular_host.settings_default_serializer"
SKIPS_SCHEMES = {"skipsBasicAuth", "skipsBearerAuth", "skipsSessionAuth"}


@pytest.fixture(scope="module", params=["own serializer", "default serializer"])
def spectacular(request: Any) -> subprocess.CompletedProcess[str]:
    settings = SETTINGS if request.param == "own serializer" else DEFAULT_SERIALIZER_SETTINGS
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format=openapi-json",
            f"--settings={settings}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_no_warning(spectacular: subprocess.CompletedProcess[str]) -> None:
    assert spectacular.returncode == 0, spectacular.stderr
    assert "warning" not in spectacular.stderr.lower(), spectacular.stderr
    assert "error" not in spectacular.stderr.lower(), spectacular.stderr


def test_one_scheme_per_authentication_class(spectacular: subprocess.CompletedProcess[str]) -> None:
    schema: dict[str, Any] = json.loads(spectacular.stdout)
    schemes = schema["components"]["securitySchemes"]
    # REST framework's own, as drf-spectacular names them, beside the app's.
    assert set(schemes) == {"basicAuth", "cookieAuth", *SKIPS_SCHEMES}
    assert "description" not in schemes["basicAuth"]
    assert schemes["skipsBasicAuth"]["description"].startswith("`{email}/token`")

    def security(path: str, method: str = "get") -> set[str]:
        return {next(iter(s)) for s in schema["paths"][path][method]["security"] if s}

    assert security("/api/whoami/") == {"basicAuth", "cookieAuth"}
    assert security("/api/schema/") == {"basicAuth", "cookieAuth"}
    for path, item in schema["paths"].items():
        if path.startswith("/api/v2/"):
            for method in item:
                assert security(path, method) == SKIPS_SCHEMES, (path, method)


def test_the_default_serializer_types_each_column(
    spectacular: subprocess.CompletedProcess[str],
) -> None:
    components = json.loads(spectacular.stdout)["components"]["schemas"]
    if "CaseColumns" not in components:  # the host's own serializer
        assert "CaseSerializer" in components or "Case" in components
        return
    properties = components["CaseColumns"]["properties"]
    assert set(properties) == {"id", "is_archived", "opened_at", "owner_id", "title", "url"}
    assert properties["id"]["type"] == "integer"
    assert properties["owner_id"]["type"] == "integer"
    assert properties["owner_id"]["nullable"] is True  # OpenAPI 3.0, drf-spectacular's default
    assert properties["is_archived"]["type"] == "boolean"
    assert properties["title"]["type"] == "string"
    assert properties["opened_at"]["format"] == "date-time"
