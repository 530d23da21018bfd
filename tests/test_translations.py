"""Translations: the admin in German, French and Spanish; the API in English whatever the language.

The test host has no ``LocaleMiddleware``: these tests add it (a host that
translates its admin does), so that ``Accept-Language`` picks the language.
The catalogues themselves (``skips/locale/``) are checked here too: every
message translated, no fuzzy entry, the placeholders kept, each ``.mo`` what
its ``.po`` says. ``nox -s translations`` checks that they hold every message
of the code.
"""

from __future__ import annotations

import csv
import datetime
import gettext
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone, translation

import skips
from skips.admin import SkipAdmin, SkipInline
from skips.admin.chart import daily_chart
from skips.models import Skip, SkipTombstone
from tests.admin_support import CHANGELIST, EXPORT, REPORT, bulk_skips, logged_in, staff
from tests.conftest import client_for
from tests.factories import AgentFactory, CaseFactory, UserFactory
from tests.testapp.models import Case

LOCALE = Path(skips.__file__).parent / "locale"
LANGUAGES = ("de", "fr", "es")
#: Every language shipped (each catalogue is checked), those three at least.
SHIPPED = sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES" / "django.po").is_file())
LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"
# Where Django's documentation puts it: after the session, before CommonMiddleware.
MIDDLEWARE = list(settings.MIDDLEWARE)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware") + 1, LOCALE_MIDDLEWARE
)

# A host's own admin site with the ticket admin showing SkipInline.
site = admin.AdminSite(name="i18nadmin")
site.register(Skip, SkipAdmin)


@admin.register(Case, site=site)
class CaseAdmin(admin.ModelAdmin):
    inlines = (SkipInline,)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18nadmin/", site.urls),
    path("api/v2/", include("skips.urls")),
]


@pytest.fixture(autouse=True)
def locale_middleware() -> Iterator[None]:
    """LocaleMiddleware and the four languages; no language left active afterwards."""
    before = translation.get_language()
    with override_settings(
        MIDDLEWARE=MIDDLEWARE,
        LANGUAGE_CODE="en-us",
        LANGUAGES=[("en", "English"), ("de", "German"), ("fr", "French"), ("es", "Spanish")],
        ROOT_URLCONF=__name__,
    ):
        yield
    # LocaleMiddleware activates the request's language and leaves it active.
    if before:
        translation.activate(before)
    else:
        translation.deactivate()


def page(client: Any, url: str, language: str, **params: Any) -> str:
    response = client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, response
    assert response["Content-Language"] == language
    return response.content.decode()


def assert_shows(html: str, *phrases: str) -> None:
    text = re.sub(r"\s+", " ", html)
    missing = [phrase for phrase in phrases if phrase not in text]
    assert not missing, f"not on the page: {missing}"


def assert_hides(html: str, *phrases: str) -> None:
    text = re.sub(r"\s+", " ", html)
    shown = [phrase for phrase in phrases if phrase in text]
    assert not shown, f"still in English: {shown}"


@pytest.fixture
def desk(db: Any) -> dict[str, Any]:
    """A supervisor, and skips of two agents over the past days, one ticket archived."""
    ana = UserFactory(full_name="Ana Lima")
    ben = UserFactory(full_name="Ben Okafor")
    printer = CaseFactory(title="Printer on fire")
    old = CaseFactory(title="Old case", is_archived=True)
    bulk_skips(
        12,
        users=[ana, ben],
        tickets=[printer, old],
        step=datetime.timedelta(hours=7),
        newest=timezone.now() - datetime.timedelta(hours=3),
    )
    supervisor = staff("view_skip", "export_skip", is_superuser=True)
    return {"ana": ana, "ben": ben, "printer": printer, "client": logged_in(supervisor)}


# The admin


ENGLISH_CHANGELIST = (
    "Skips report",
    "Export CSV",
    "Has a reason",
    "Past 7 days",
    "Export the selected skips as CSV",
    "hours ago",
    "Several words must all match",
)


def test_changelist_in_german(desk: dict[str, Any]) -> None:
    html = page(desk["client"], CHANGELIST, "de")
    assert_shows(
        html,
        '<html lang="de"',
        "Überspringungsbericht",  # the link to the report
        "CSV exportieren",
        "Alle Überspringungen dieser Liste (mit ihren Filtern, ihrer Suche und Sortierung)",
        # The filters.
        "Nach Datum",
        "Alle Daten",
        "Heute",
        "Letzte 7 Tage",
        "Diesen Monat",
        "Von",
        "Bis",
        "Anwenden",
        "Nach Agent",
        "Nach Grund",
        "Mit Grund",
        "Ohne Grund",
        "Nach archivierten Tickets",
        "Angezeigt",
        "Ausgeblendet",
        "Nur archivierte",
        # The columns, the action and the search.
        "Wann",
        "Agent",
        "Ticket",
        "Grund",
        "Ausgewählte Überspringungen als CSV exportieren",
        "Suchen",
        "Login, E-Mail-Adresse oder Name des Agenten. Mehrere Wörter müssen alle "
        "zutreffen; Wörter nach den ersten 10 werden nicht berücksichtigt.",
        "Stunden her",  # time ago
        "12 Überspringungen",  # the paginator's count
    )
    assert_hides(html, *ENGLISH_CHANGELIST)


def test_changelist_counts_and_search_in_german(desk: dict[str, Any]) -> None:
    html = page(desk["client"], CHANGELIST, "de", q="Printer")
    assert_shows(html, "6 gefunden", "Zeige alle")
    # A filtered list past the count's cap says "more than".
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("skips.admin.changelist.SkipPaginator.count_cap", 5)
        html = page(desk["client"], CHANGELIST, "de", has_reason="yes")
    assert_shows(html, "mehr als 5 gefunden", "mehr als 5 Überspringungen")


def test_read_only_page_in_german(desk: dict[str, Any]) -> None:
    skip = Skip.objects.filter(ticket=desk["printer"]).first()
    assert skip is not None
    html = page(desk["client"], f"{CHANGELIST}{skip.pk}/change/", "de")
    assert_shows(
        html,
        "Erstellt am (API, UTC)",
        "Aktualisiert am (API, UTC)",
        "Siehe auch",
        "Alle Überspringungen dieses Tickets",
        "Alle Überspringungen dieses Agenten",
    )
    assert_hides(html, "Every skip of this ticket", "see also")


def test_report_and_its_chart_in_german(desk: dict[str, Any]) -> None:
    html = page(desk["client"], REPORT, "de")
    assert_shows(
        html,
        "<title>Überspringungsbericht",
        "Diese Überspringungen in der Liste",
        "CSV exportieren",
        # The form.
        "Von:",
        "Bis:",
        "Agent:",
        "Archivierte Tickets ausblenden",
        'value="Anzeigen"',
        # The period, the figures and the chart.
        "Vom ",
        " bis zum ",
        "12</strong> Überspringungen",
        "mit Grund",
        "übersprungene Tickets",
        "Agenten mit Überspringungen",
        "Überspringungen pro Tag",
        "Überspringungen pro Tag vom ",  # the chart's description
        "insgesamt 12, höchstens",
        # The tables.
        "Am häufigsten übersprungene Tickets",
        "Agenten mit den meisten Überspringungen",
        "Häufigste Gründe",
        "Anteil",
    )
    assert re.search(r"<title>[^<]*: [1-9] Überspringung(en)?</title>", html)  # a bar
    assert_hides(html, "Skips per day", "Most-skipped tickets", "in all, at most", "skips</title>")

    # One agent's report, an empty period, and the form's errors.
    html = page(desk["client"], REPORT, "de", agent=desk["ana"].pk)
    assert_shows(html, "Überspringungen von Ana Lima")
    html = page(desk["client"], REPORT, "de", first="2001-01-01", last="2001-01-31")
    assert_shows(
        html,
        "Keine Überspringungen in diesem Zeitraum.",
        "In diesem Zeitraum wurden keine Gründe angegeben.",
    )
    html = page(desk["client"], REPORT, "de", first="2024-02-02", last="2024-02-01")
    assert_shows(
        html,
        "Bitte korrigieren Sie die unten aufgeführten Fehler; der Bericht zeigt den "
        "Standardzeitraum.",
        "Der erste Tag liegt nach dem letzten Tag.",
    )
    html = page(desk["client"], REPORT, "de", first="2020-01-01", last="2024-01-01")
    assert_shows(html, "Wählen Sie höchstens 366 Tage.")


def test_chart_plurals() -> None:
    day = datetime.date(2024, 3, 1)
    with translation.override("de"):
        titles = [bar.title for bar in daily_chart([(day, 1), (day, 2)]).bars]
        assert titles == ["1. März 2024: 1 Überspringung", "1. März 2024: 2 Überspringungen"]
    with translation.override("fr"):
        titles = [bar.title for bar in daily_chart([(day, 0), (day, 1), (day, 2)]).bars]
        assert titles == [
            "1 mars 2024\u00a0: 0 ticket ignoré",
            "1 mars 2024\u00a0: 1 ticket ignoré",
            "1 mars 2024\u00a0: 2 tickets ignorés",
        ]
    with translation.override("es"):
        chart = daily_chart([(day, 1), (day, 2), (day, 1_000_000)])
        assert [bar.title.split(": ")[1] for bar in chart.bars] == [
            "1 omisión",
            "2 omisiones",
            "1\u00a0000\u00a0000 de omisiones",
        ]


def test_csv_export_keeps_the_api_field_names_in_every_language(desk: dict[str, Any]) -> None:
    """The export's header is the API's field names, the same in every language.

    Scripts read the file by these names (the first six columns are the API's
    fields with the API's values), so they are not translated.
    """
    exports = {}
    for language in ("en", *LANGUAGES):
        response = desk["client"].get(EXPORT, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert response["Content-Language"] == language
        exports[language] = b"".join(response.streaming_content).decode()
    header = next(csv.reader(io.StringIO(exports["en"])))
    assert header[:6] == ["id", "created_at", "updated_at", "user_id", "ticket_id", "reason"]
    assert all(text == exports["en"] for text in exports.values())


def test_inline_in_german(desk: dict[str, Any]) -> None:
    skip_inline_limit = SkipInline.limit
    bulk_skips(skip_inline_limit, tickets=[desk["printer"]])
    html = page(desk["client"], f"/i18nadmin/testapp/case/{desk['printer'].pk}/change/", "de")
    assert_shows(
        html,
        "Überspringungen, neueste zuerst",
        f"Die neuesten {skip_inline_limit} Überspringungen werden angezeigt.",
        "Alle Überspringungen, in der Liste der Überspringungen",
        "Wann",
        "Agent",
        "Grund",
    )
    assert_hides(html, "skips, newest first", "Every skip, in the skips list")


def test_erasure_confirmation_in_german(desk: dict[str, Any]) -> None:
    selected = [
        str(pk) for pk in Skip.objects.filter(user=desk["ana"]).values_list("pk", flat=True)
    ]
    for action, title, sentence, button in (
        (
            "anonymise_skips",
            "Überspringungen anonymisieren",
            f"{len(selected)} Überspringungen anonymisieren? Sie bleiben in den Berichten",
            'value="Ja, anonymisieren"',
        ),
        (
            "delete_skips_erasure",
            "Überspringungen löschen",
            f"{len(selected)} Überspringungen löschen? Der inkrementelle Export meldet",
            'value="Ja, löschen"',
        ),
    ):
        response = desk["client"].post(
            CHANGELIST,
            {"action": action, "_selected_action": selected},
            HTTP_ACCEPT_LANGUAGE="de",
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert_shows(
            html,
            f"<title>{title}",
            sentence,
            "Dies kann nicht rückgängig gemacht werden.",
            "Ausgewählte Überspringungen",
            "Überspringungen insgesamt",
            button,
            "Nein, bitte abbrechen",
        )
    html = page(desk["client"], CHANGELIST, "de")
    assert_shows(
        html,
        "Ausgewählte Überspringungen tilgen: anonymisieren",
        "Ausgewählte Überspringungen tilgen: löschen",
    )


def test_app_index_and_report_module_in_german(desk: dict[str, Any]) -> None:
    html = page(desk["client"], "/admin/skips/", "de")
    assert_shows(html, "Ticket-Überspringungen", "Berichte", "Überspringungsbericht", "Ansehen")


@pytest.mark.parametrize(
    ("language", "changelist", "report"),
    [
        (
            "fr",
            (
                "Rapport des tickets ignorés",
                "Exporter en CSV",
                "Par date",
                "Les 7 derniers jours",
                "Avec un motif",
                "Par tickets archivés",
                "Exporter les tickets ignorés sélectionnés en CSV",
                "il y a ",
                "12 tickets ignorés",
            ),
            (
                "Tickets ignorés par jour",
                "Tickets les plus ignorés",
                "Agents qui ignorent le plus de tickets",
                "Motifs les plus fréquents",
                "Du ",
                "Masquer les tickets archivés",
            ),
        ),
        (
            "es",
            (
                "Informe de omisiones",
                "Exportar CSV",
                "Por fecha",
                "Últimos 7 días",
                "Con motivo",
                "Por tickets archivados",
                "Exportar las omisiones seleccionadas como CSV",
                "hace ",
                "12 omisiones",
            ),
            (
                "Omisiones por día",
                "Tickets más omitidos",
                "Agentes que más omiten",
                "Motivos más frecuentes",
                "Del ",
                "Ocultar los tickets archivados",
            ),
        ),
    ],
)
def test_french_and_spanish(
    desk: dict[str, Any], language: str, changelist: tuple[str, ...], report: tuple[str, ...]
) -> None:
    html = page(desk["client"], CHANGELIST, language)
    assert_shows(html, f'<html lang="{language}"', *changelist)
    assert_hides(html, *ENGLISH_CHANGELIST)
    html = page(desk["client"], REPORT, language)
    assert_shows(html, *report)
    assert_hides(html, "Skips per day", "Most-skipped tickets")


def test_english_stays_english(desk: dict[str, Any]) -> None:
    html = page(desk["client"], CHANGELIST, "en")
    assert_shows(html, "Skips report", "Export CSV", "Has a reason", "12 skips")
    html = page(desk["client"], REPORT, "en")
    assert_shows(html, "Skips per day", "Most-skipped tickets")


def test_model_and_app_names() -> None:
    expected = {
        "de": ("Überspringung", "Überspringungen", "Ticket-Überspringungen", "Grund"),
        "fr": ("ticket ignoré", "tickets ignorés", "Tickets ignorés", "motif"),
        "es": ("omisión", "omisiones", "Omisiones de tickets", "motivo"),
    }
    for language, names in expected.items():
        with translation.override(language):
            opts = Skip._meta
            assert (
                str(opts.verbose_name),
                str(opts.verbose_name_plural),
                str(apps.get_app_config("skips").verbose_name),
                str(opts.get_field("reason").verbose_name),
            ) == names
            assert str(SkipTombstone._meta.verbose_name) != "deleted skip"


# The API: its JSON is the reference's English, whatever the request's language.


def api_errors(agent: Any, archived: Any, language: str | None) -> list[tuple[int, Any]]:
    """The answers to bad requests of every kind, with ``Accept-Language: language``."""
    client = client_for(agent)
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    skips = "/api/v2/skips.json"
    answers = [
        client.post_json(skips, body, **headers)
        for body in (
            {"skip": {"ticket_id": 987_654_321}},  # no such ticket
            {"skip": {"ticket_id": "12"}},  # must be an integer
            {"skip": {"ticket_id": 2**64}},  # not a valid ticket id
            {"skip": {"ticket_id": archived.pk}},  # archived
            {"skip": {"ticket_id": archived.pk, "reason": 5}},  # must be a string
            {"skip": {"ticket_id": archived.pk, "reason": "x" * 2000}},  # REST framework's
            {"skip": {}},  # REST framework's "This field is required."
        )
    ]
    answers += [
        client.post(skips, "{nope", content_type="application/json", **headers),
        client.put(skips, "{}", content_type="application/json", **headers),
        client.get(skips, HTTP_ACCEPT="text/csv", **headers),
        client.get(skips, {"created_after": "soon"}, **headers),
        client.get(skips, {"page[size]": "0"}, **headers),
        client.get("/api/v2/tickets/987654321/skips.json", **headers),
        client_for(None).get(skips, **headers),
    ]
    return [(answer.status_code, answer.json()) for answer in answers]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_api_errors_stay_english(language: str) -> None:
    agent = AgentFactory()
    archived = CaseFactory(is_archived=True)
    english = api_errors(agent, archived, None)
    assert english[0][1]["details"]["ticket_id"][0]["description"] == "no such ticket"
    assert [status for status, _ in english] == [422] * 7 + [400, 405, 406, 400, 400, 404, 401]
    assert api_errors(agent, archived, language) == english


# The catalogues


ESCAPE = re.compile(r"\\(.)")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def read_po(path: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The header's fields and the entries of a .po file (msgid, plural, msgstr forms, flags)."""
    entries: list[dict[str, Any]] = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, Any] = {"flags": set(), "msgstr": {}}
        key = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            else:
                match = re.fullmatch(
                    r'(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?) (".*")', line
                )
                if match:
                    key = match.group(1) if match.group(2) is None else int(match.group(2))
                    if key == "msgstr":
                        key = 0
                    value = match.group(3)
                else:
                    value = line
                text = ESCAPE.sub(lambda m: ESCAPES[m.group(1)], value[1:-1])
                if isinstance(key, int):
                    entry["msgstr"][key] = entry["msgstr"].get(key, "") + text
                else:
                    entry[key] = entry.get(key, "") + text
        if "msgid" in entry:
            entries.append(entry)
    header, *messages = entries
    fields = dict(line.split(": ", 1) for line in header["msgstr"][0].splitlines() if ": " in line)
    return fields, messages


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")


@pytest.mark.parametrize("language", SHIPPED)
def test_catalogue_is_complete(language: str) -> None:
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    header, messages = read_po(po)
    assert header["Language"] == language
    plural_forms = re.fullmatch(r"nplurals=(\d+); plural=.+;", header["Plural-Forms"])
    assert plural_forms, header["Plural-Forms"]
    nplurals = int(plural_forms.group(1))
    assert len(messages) >= 90
    for message in messages:
        msgid = message["msgid"]
        assert not message.get("obsolete"), msgid
        assert "fuzzy" not in message["flags"], msgid
        forms = message["msgstr"]
        expected = nplurals if "msgid_plural" in message else 1
        assert sorted(forms) == list(range(expected)), msgid
        for form in forms.values():
            assert form.strip(), f"{language}: {msgid!r} is not translated"
            # Every placeholder kept, none made up (surrounding spaces too).
            assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(msgid)), (
                language,
                msgid,
                form,
            )
            assert form[:1].isspace() == msgid[:1].isspace(), (language, msgid)
            assert form[-1:].isspace() == msgid[-1:].isspace(), (language, msgid)


@pytest.mark.parametrize("language", SHIPPED)
def test_compiled_catalogue_is_the_po(language: str) -> None:
    """The .mo shipped says what the .po says (``compilemessages`` was run)."""
    folder = LOCALE / language / "LC_MESSAGES"
    _, messages = read_po(folder / "django.po")
    with (folder / "django.mo").open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    catalog = compiled._catalog
    expected: dict[Any, str] = {}
    for message in messages:
        # A message with a context is compiled under "context\x04msgid".
        key = "\x04".join(filter(None, (message.get("msgctxt"), message["msgid"])))
        if "msgid_plural" in message:
            for n, form in message["msgstr"].items():
                expected[(key, n)] = form
        else:
            expected[key] = message["msgstr"][0]
    assert {key: value for key, value in catalog.items() if key != ""} == expected


def test_german_french_and_spanish_are_shipped() -> None:
    assert set(LANGUAGES) <= set(SHIPPED)
