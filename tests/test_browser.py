"""The skips admin in a real browser: Debian's Chromium, driven by Playwright.

A supervisor logs in to the live example project, browses the skips
changelist (a filter, a date range, a search), opens a skip, exports CSV and
reads the report; the API's documentation page renders every operation.
Screenshots of the changelist, the report and the docs are saved in
``test-artifacts/`` at the top of the checkout.

No browser is ever downloaded: the test uses ``/usr/bin/chromium``
(``apt-get install chromium``) and skips without it (a failure under CI=true).
The live server runs with DEBUG off and serves no static files, so the
browser's requests for ``/static/`` are answered from the apps' own static
directories here; any request leaving the live server is refused and fails
the test: the pages need no network.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live import ROOT, Live

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.live


class Offline:
    """Answers ``/static/`` from the apps' files, refuses every request off the live server."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.refused: list[str] = []

    def __call__(self, route: Any) -> None:
        from django.contrib.staticfiles import finders

        url = route.request.url
        if not url.startswith(self.live.base + "/"):
            self.refused.append(url)
            route.abort()
            return
        path = urlsplit(url).path
        if path.startswith("/static/"):
            found = finders.find(path.removeprefix("/static/"))
            if found:
                route.fulfill(path=str(found))
            else:
                route.fulfill(status=404, body="")
            return
        route.continue_()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    offline = Offline(live)
    context.route("**/*", offline)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    assert offline.refused == [], f"requests off the live server: {offline.refused}"


def log_in(page: Any, live: Live, username: str = "supervisor") -> None:
    page.goto(f"{live.base}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    go(page, page.click, "input[type=submit]")


def go(page: Any, action: Any, *args: Any) -> None:
    """Run ``action(*args)`` (a click, a key press) and wait for the page it leads to."""
    with page.expect_navigation():
        action(*args)


def query(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def cells(page: Any, column: str) -> list[str]:
    return [
        text.strip() for text in page.locator(f"#result_list td.field-{column}").all_inner_texts()
    ]


def test_supervisor_browses_filters_searches_opens_exports_and_reads_the_report(
    page: Any, live: Live
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, live)

    # The admin index links to the skips and to the report.
    assert page.locator("h1").inner_text() == "Site administration"
    assert page.locator("a[href='/admin/skips/skip/report/']").first.is_visible()

    # The changelist: a page of skips, newest first, with its filters and styles.
    go(page, page.click, "#content-main a[href='/admin/skips/skip/']")
    assert page.locator("h1").inner_text() == "Select skip to view"
    assert page.locator("#result_list tbody tr").count() == 100
    assert "skips" in page.locator("p.paginator").inner_text()
    stamps = page.locator("#result_list td.field-when time").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('datetime'))"
    )
    assert stamps == sorted(stamps, reverse=True)
    assert all("ago" in text or "just now" in text for text in cells(page, "when"))
    header_color = page.locator("#header").evaluate("n => getComputedStyle(n).backgroundColor")
    assert header_color not in ("rgba(0, 0, 0, 0)", "transparent")  # the admin's CSS loaded
    page.screenshot(path=str(ARTIFACTS / "admin-changelist.png"))  # the top of the list

    # A filter: skips with a reason.
    go(page, page.click, "#changelist-filter a:text-is('Has a reason')")
    assert query(page)["has_reason"] == ["yes"]
    reasons = cells(page, "short_reason")
    assert reasons
    assert "-" not in reasons

    # A date range picked in the filter's form keeps the other filter.
    today = datetime.datetime.now(datetime.timezone.utc).date()  # the demo runs in UTC
    first = today - datetime.timedelta(days=6)
    page.fill("input[name=created_from]", first.isoformat())
    page.fill("input[name=created_to]", today.isoformat())
    go(page, page.click, "#changelist-filter .skips-date-range button")
    params = query(page)
    assert params["created_from"] == [first.isoformat()]
    assert params["has_reason"] == ["yes"]
    days = page.locator("#result_list td.field-when time").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('datetime').slice(0, 10))"
    )
    assert days
    assert min(days) >= first.isoformat()

    # A search by an agent's name, inside the filtered list.
    page.fill("#searchbar", "Alice")
    go(page, page.press, "#searchbar", "Enter")
    params = query(page)
    assert params["q"] == ["Alice"]
    assert params["has_reason"] == ["yes"]
    agents = cells(page, "agent")
    assert agents
    assert all(text.startswith("Alice Nguyen") for text in agents)
    assert "found" in page.locator("#changelist-search").inner_text()

    # The filtered list as CSV.
    with page.expect_download() as download_info:
        page.click("a.skips-export")
    download = download_info.value
    assert download.suggested_filename.startswith("skips-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows) == len(agents)
    alice_id = live.user("agent1")[0]
    assert {row["user_id"] for row in rows} == {str(alice_id)}

    # One skip: read-only, no delete for a supervisor.
    go(page, page.locator("#result_list tbody tr th a").first.click)
    assert page.locator("h1").inner_text() == "View skip"
    assert page.locator("text=Every skip of this ticket").is_visible()
    assert page.locator("input[name=reason], textarea[name=reason]").count() == 0
    assert page.locator("a.deletelink").count() == 0

    # The report, from the changelist's tools.
    page.goto(f"{live.base}/admin/skips/skip/")
    go(page, page.click, "a:text-is('Skips report')")
    assert page.locator("h1").inner_text() == "Skips report"
    assert page.locator("svg.skips-chart rect").count() == 30
    start = (today - datetime.timedelta(days=29)).isoformat()
    ((expected,),) = live.sql("SELECT COUNT(*) FROM skips_skip WHERE created_at >= ?", start)
    total = page.locator("#skips-summary strong").first.inner_text()
    assert int(re.sub(r"\D", "", total)) == expected
    assert page.locator("#skips-top-tickets tbody tr").count() >= 1
    assert page.locator("#skips-top-agents tbody tr").count() >= 1
    assert page.locator("#skips-top-reasons tbody tr").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "admin-report.png"), full_page=True)

    # The report of one agent, picked from the agents who skipped (a supervisor
    # may not open the user admin, so there is no lookup popup).
    assert page.locator("a.related-lookup").count() == 0
    page.select_option("select[name=agent]", str(alice_id))
    go(page, page.click, "#skips-report-form input[type=submit]")
    assert "skips by Alice Nguyen" in page.locator(".skips-report-period").inner_text()
    agent_rows = page.locator("#skips-top-agents tbody tr")
    assert agent_rows.count() == 1
    assert "Alice Nguyen" in agent_rows.inner_text()


def test_ticket_page_shows_its_skips_to_an_admin(page: Any, live: Live) -> None:
    ((ticket_id, skips),) = live.sql(
        "SELECT ticket_id, COUNT(*) FROM skips_skip GROUP BY ticket_id ORDER BY 2 DESC LIMIT 1"
    )
    log_in(page, live, "admin")
    page.goto(f"{live.base}/admin/helpdesk/ticket/{ticket_id}/change/")
    inline = page.locator("#skips-group")
    assert "skips, newest first" in inline.inner_text().lower()
    assert inline.locator("tbody tr.has_original").count() == min(skips, 20)
    go(page, page.click, f"a[href='/admin/skips/skip/?ticket__id__exact={ticket_id}']")
    assert page.locator("#result_list tbody tr").count() == skips


def test_api_docs_render_every_operation_offline(browser: Any, live: Live) -> None:
    """/api/docs/ (Swagger UI from the server's own static files) shows the whole API."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    refused: list[str] = []

    def only_the_live_server(route: Any) -> None:
        if route.request.url.startswith(live.base + "/"):
            route.continue_()  # runserver --insecure serves /static/ itself here
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_live_server)
    try:
        page = context.new_page()
        page.goto(f"{live.base}/api/docs/")
        page.wait_for_selector(".opblock", timeout=30_000)
        operations = page.locator(".opblock .opblock-summary-path").all_inner_texts()
        assert len(operations) == 12
        assert {text.replace("\u200b", "") for text in operations} >= {
            "/api/v2/skips",
            "/api/v2/skips.json",
            "/api/v2/tickets/{ticket_id}/skips",
            "/api/v2/users/{user_id}/skips.json",
            "/api/v2/incremental/skips/cursor.json",
        }
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=True)
    finally:
        context.close()
    assert refused == [], f"requests off the live server: {refused}"
