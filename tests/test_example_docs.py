"""The example project publishes the API description and a documentation page."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.live import Live

requests = pytest.importorskip("requests")

pytestmark = pytest.mark.live


def test_schema_is_served_and_valid(live: Live) -> None:
    response = requests.get(f"{live.base}/api/schema/?format=json", timeout=30)
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert "/api/v2/skips.json" in schema["paths"]
    ticket = schema["components"]["schemas"]["Ticket"]
    assert len(ticket["properties"]) == 29  # the reference ticket object, key for key
    assert ticket["properties"]["url"]["format"] == "uri"


def test_docs_page_renders_from_local_files(live: Live) -> None:
    page = requests.get(f"{live.base}/api/docs/", timeout=30)
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert any("swagger-ui-bundle" in asset for asset in assets)
    # No CDN: every asset comes from this server.
    assert "cdn" not in page.text.lower()
    for asset in assets:
        assert requests.get(f"{live.base}{asset}", timeout=30).status_code == 200, asset
