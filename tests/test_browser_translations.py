"""The skips admin in German, in a real browser: Debian's Chromium, driven by Playwright.

A supervisor whose browser asks for German (locale ``de-DE``, so
``Accept-Language: de-DE``) logs in to the live example project and reads the
skips report: its headings, form, figures and the chart's description and
bars in German, then the report of one agent, then the changelist and its
filters. Screenshots of the German report and changelist are saved in
``test-artifacts/`` at the top of the checkout.

The example project picks the language with Django's ``LocaleMiddleware``;
without it (the server answers every language in English) the test is skipped,
a failure under CI=true, as it is without Chromium. Like ``test_browser.py``,
no browser is ever downloaded, ``/static/`` is answered from the apps' own
files, and any request leaving the live server fails the test.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live import Live
from tests.test_browser import ARTIFACTS, Offline, go, log_in

pytestmark = pytest.mark.live

LANGUAGE = "de"
BROWSER_LOCALE = "de-DE"


def content_language(live: Live, accept_language: str) -> str | None:
    """The ``Content-Language`` of the login page asked for in ``accept_language``."""
    request = urllib.request.Request(
        f"{live.base}/admin/login/", headers={"Accept-Language": accept_language}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("Content-Language")


@pytest.fixture
def german_page(browser: Any, live: Live) -> Iterator[Any]:
    """A page of a browser whose locale is de-DE, on a server that answers in German."""
    if content_language(live, BROWSER_LOCALE) != LANGUAGE:
        pytest.skip(
            "the example project answers Accept-Language: de-DE in English: "
            "example_project/settings.py needs django.middleware.locale.LocaleMiddleware "
            "in MIDDLEWARE (after SessionMiddleware, before CommonMiddleware)"
        )
    context = browser.new_context(
        locale=BROWSER_LOCALE, viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    offline = Offline(live)
    context.route("**/*", offline)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
    assert offline.refused == [], f"requests off the live server: {offline.refused}"


def texts(page: Any, selector: str) -> list[str]:
    return [text.strip() for text in page.locator(selector).all_inner_texts()]


def test_supervisor_reads_the_report_in_german(german_page: Any, live: Live) -> None:
    page = german_page
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, live)
    assert page.evaluate("navigator.language") == BROWSER_LOCALE
    assert page.locator("html").get_attribute("lang") == LANGUAGE
    assert page.locator("h1").inner_text() == "Website-Verwaltung"

    # The report, from the admin index's "Reports" box.
    go(page, page.click, "#content-main a:text-is('Überspringungsbericht')")
    assert page.url.endswith("/admin/skips/skip/report/")
    assert page.locator("h1").inner_text() == "Überspringungsbericht"
    assert page.title().startswith("Überspringungsbericht")
    assert texts(page, "#content-main h2") == [
        "Überspringungen pro Tag",
        "Am häufigsten übersprungene Tickets",
        "Agenten mit den meisten Überspringungen",
        "Häufigste Gründe",
    ]
    assert texts(page, "#skips-report-form label") == [
        "Von:",
        "Bis:",
        "Agent:",
        "Archivierte Tickets ausblenden",
    ]
    assert page.locator("#skips-report-form input[type=submit]").get_attribute("value") == (
        "Anzeigen"
    )
    object_tools = page.locator("ul.object-tools li").all_text_contents()  # CSS uppercases them
    assert [text.strip() for text in object_tools] == [
        "Diese Überspringungen in der Liste",
        "CSV exportieren",
    ]
    # The period in German dates ("Vom 3. November 2026 bis zum 2. Dezember 2026.").
    period = page.locator(".skips-report-period").inner_text()
    assert re.fullmatch(r"Vom \d{1,2}\. \w+ \d{4} bis zum \d{1,2}\. \w+ \d{4}\.", period), period
    summary = page.locator("#skips-summary").inner_text()
    for label in ("Überspringungen", "mit Grund", "übersprungene Tickets", "Agenten mit"):
        assert label in summary

    # The chart: its description (read by screen readers) and each bar's tooltip.
    chart = page.locator("svg.skips-chart")
    description = chart.get_attribute("aria-label")
    assert description is not None
    assert re.fullmatch(
        r"Überspringungen pro Tag vom .+ bis zum .+: "
        r"insgesamt [\d.]+, höchstens \d+ an einem Tag\.",
        description,
    ), description
    assert chart.locator("title").first.text_content() == description
    bars = chart.locator("rect title").all_text_contents()
    assert len(bars) == 30
    assert all(re.fullmatch(r"\d{1,2}\. \w+ \d{4}: \d+ Überspringung(en)?", bar) for bar in bars)
    assert any(bar.endswith(" Überspringungen") for bar in bars)
    headers = [text.strip() for text in page.locator(".skips-report-tables th").all_text_contents()]
    assert headers == [
        *("Ticket", "Überspringungen", "Agenten"),
        *("Agent", "Überspringungen", "Mit Grund"),
        *("Grund", "Überspringungen", "Anteil"),
    ]
    page.screenshot(path=str(ARTIFACTS / "admin-report-de.png"), full_page=True)

    # One agent's report.
    alice_id = live.user("agent1")[0]
    page.select_option("select[name=agent]", str(alice_id))
    go(page, page.click, "#skips-report-form input[type=submit]")
    assert "Überspringungen von Alice Nguyen" in page.locator(".skips-report-period").inner_text()

    # The changelist of those skips, with its filters in German.
    go(page, page.click, "a:text-is('Diese Überspringungen in der Liste')")
    assert page.locator("h1").inner_text() == "Überspringung zum Ansehen auswählen"
    filters = page.locator("#changelist-filter").inner_text()
    for text in ("Nach Datum", "Letzte 7 Tage", "Nach Agent", "Mit Grund", "Nach Grund"):
        assert text in filters
    assert all(
        re.search(r"( her|gerade eben)$", cell)
        for cell in texts(page, "#result_list td.field-when")
    )
    assert "Überspringungen" in page.locator("p.paginator").inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin-changelist-de.png"))
