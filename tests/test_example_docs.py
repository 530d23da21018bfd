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


def test_list_pages_render_tickets_as_the_serializer_does(live: Live) -> None:
    """The lean list path (render_many) gives the bytes of the full serializer (POST)."""
    _, email, key = live.user("supervisor")
    auth = (f"{email}/token", key)
    ticket_ids = [
        row[0]
        for row in live.sql(
            # Problems (has_incidents), rated tickets, incidents first.
            "SELECT id FROM helpdesk_ticket WHERE NOT is_archived ORDER BY"
            " (id IN (SELECT problem_id FROM helpdesk_ticket)) DESC,"
            " (satisfaction_score != '') DESC, (problem_id IS NOT NULL) DESC, id LIMIT 12"
        )
    ]
    assert len(ticket_ids) == 12
    seen = set()
    for ticket_id in ticket_ids:
        created = requests.post(
            f"{live.base}/api/v2/tickets/{ticket_id}/skips.json",
            json={"skip": {"reason": "comparing"}},
            auth=auth,
            timeout=30,
        )
        assert created.status_code == 201
        listed = requests.get(
            f"{live.base}/api/v2/tickets/{ticket_id}/skips.json?sort_order=desc&page[size]=1",
            auth=auth,
            timeout=30,
        )
        assert listed.status_code == 200
        (skip,) = listed.json()["skips"]
        assert skip["id"] == created.json()["skip"]["id"]
        assert skip == created.json()["skip"]
        assert list(skip["ticket"]) == list(created.json()["skip"]["ticket"])
        seen.add((skip["ticket"]["has_incidents"], skip["ticket"]["satisfaction_rating"] is None))
    # Problems and others, rated and unrated tickets were all compared.
    assert {kind[0] for kind in seen} == {True, False}
    assert {kind[1] for kind in seen} == {True, False}
