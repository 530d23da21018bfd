"""System checks of the ``SKIPS_*`` settings and the host (skips.E001 to skips.E011).

The checks read the settings live, so ``override_settings`` is enough. A bad
value must give an Error with its id, never a traceback.
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.checks import ERROR, CheckMessage, run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db.models import BooleanField, Exists, Expression, OuterRef, Q
from django.test import override_settings

from skips.authentication import BearerTokenAuthentication
from tests.testapp.models import Label
from tests.testapp.serializers import CaseSerializer


def archived_cases() -> Q:
    """A valid ``SKIPS_ARCHIVED_TICKETS`` callable, named by its dotted path below."""
    return Q(is_archived=True)


def token_user(key: str) -> Any:
    """A valid ``SKIPS_TOKEN_USER`` callable, named by its dotted path below."""
    return None


NOT_CALLABLE = "tests.settings.SECRET_KEY"  # importable, but a string
BROKEN_MODULE = "tests.hosts.broken_module.anything"  # the module raises when imported


class NotCompilable(Expression):
    """A boolean expression that filter() accepts and only the compiler refuses."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        raise ValueError("this expression cannot be compiled")


def frozen_cases() -> Q:
    """A valid rule holding an expression."""
    return Q(Exists(Label.objects.filter(case=OuterRef("pk"), name="frozen")))


def ticket_access(user: Any) -> Q:
    """A valid ``SKIPS_TICKET_ACCESS`` rule."""
    return Q(team__in=user.groups.all())


class TicketsElsewhereRouter:
    """Sends the test host's tickets and users to another database than skips."""

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "helpdesk" if model._meta.app_label == "testapp" else None

    db_for_read = db_for_write


class ReplicaRouter:
    """Reads anywhere (replicas of one database), writes to one place: fine."""

    replicas = iter(["replica1", "replica2"] * 1000)

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return next(self.replicas)

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"


def skips_messages(**settings: Any) -> list[CheckMessage]:
    """The skips.* messages of every system check, run with ``settings``."""
    with override_settings(**settings):
        messages = run_checks()
    return [m for m in messages if (m.id or "").startswith("skips.")]


def assert_only_error(messages: list[CheckMessage], error_id: str) -> None:
    """``messages`` hold errors of ``error_id`` and nothing else from skips."""
    assert messages, f"expected {error_id}, got no skips message"
    assert {m.id for m in messages} == {error_id}, [str(m) for m in messages]
    for message in messages:
        assert message.level == ERROR
        assert isinstance(message.msg, str)
        assert message.msg


# The host's settings


def test_the_test_settings_give_no_skips_message() -> None:
    assert skips_messages() == []


def test_manage_py_check_passes_with_the_test_settings() -> None:
    out = StringIO()
    call_command("check", stdout=out)  # SystemCheckError on any error
    assert "System check identified no issues" in out.getvalue()


# SKIPS_TICKET_MODEL


@pytest.mark.parametrize("value", [None, ""])
def test_ticket_model_unset_is_e001(value: Any) -> None:
    messages = skips_messages(SKIPS_TICKET_MODEL=value)
    assert_only_error(messages, "skips.E001")
    assert "SKIPS_TICKET_MODEL" in messages[0].msg


def test_ticket_model_missing_from_settings_is_e001() -> None:
    with override_settings():
        del django_settings.SKIPS_TICKET_MODEL
        assert not hasattr(django_settings, "SKIPS_TICKET_MODEL")
        messages = [m for m in run_checks() if (m.id or "").startswith("skips.")]
    assert_only_error(messages, "skips.E001")


@pytest.mark.parametrize(
    "value",
    ["nodot", "nope.Missing", "testapp.NoSuchModel", "testapp.Case.extra", 42],
)
def test_bad_ticket_model_is_e002(value: Any) -> None:
    messages = skips_messages(SKIPS_TICKET_MODEL=value)
    assert_only_error(messages, "skips.E002")
    assert "SKIPS_TICKET_MODEL" in messages[0].msg


def test_ticket_model_is_case_insensitive_label() -> None:
    assert skips_messages(SKIPS_TICKET_MODEL="testapp.case") == []


# SKIPS_TICKET_SERIALIZER


@pytest.mark.parametrize(
    "value",
    [
        "tests.testapp.serializers.NoSuchSerializer",
        "no_such_module.Serializer",
        "nodot",
        "tests.settings.SECRET_KEY.attribute",
    ],
)
def test_ticket_serializer_not_importable_is_e003(value: str) -> None:
    messages = skips_messages(SKIPS_TICKET_SERIALIZER=value)
    assert_only_error(messages, "skips.E003")
    assert "SKIPS_TICKET_SERIALIZER" in messages[0].msg
    assert repr(value) in messages[0].msg


@pytest.mark.parametrize(
    "value",
    [
        "tests.testapp.models.Case",  # a class, not a serializer
        "skips.conf.conf",  # an instance
        NOT_CALLABLE,
        "skips.serializers.format_timestamp",  # a function
        None,
        42,
        CaseSerializer(),  # an instance of a serializer, not its class
    ],
)
def test_ticket_serializer_not_a_serializer_class_is_e003(value: Any) -> None:
    messages = skips_messages(SKIPS_TICKET_SERIALIZER=value)
    assert_only_error(messages, "skips.E003")
    assert "SKIPS_TICKET_SERIALIZER" in messages[0].msg


@pytest.mark.parametrize(
    "value",
    [
        "skips.serializers.TicketSerializer",
        "tests.testapp.serializers.CaseSerializer",
        CaseSerializer,
    ],
)
def test_valid_ticket_serializer_gives_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_TICKET_SERIALIZER=value) == []


# SKIPS_ARCHIVED_TICKETS


@pytest.mark.parametrize(
    "value",
    [
        "no_such_field",
        "no_such_field__exact",
        "tests.testapp.no_such_module.archived",
        "tests.test_checks.no_such_function",
        NOT_CALLABLE,
        42,
        "",
        True,
        ["is_archived"],
    ],
)
def test_bad_archived_tickets_is_e004(value: Any) -> None:
    messages = skips_messages(SKIPS_ARCHIVED_TICKETS=value)
    assert_only_error(messages, "skips.E004")
    assert "SKIPS_ARCHIVED_TICKETS" in messages[0].msg


def test_archived_tickets_field_error_names_the_model_and_field() -> None:
    (message,) = skips_messages(SKIPS_ARCHIVED_TICKETS="no_such_field")
    assert message.id == "skips.E004"
    assert "testapp.Case" in message.msg
    assert "'no_such_field'" in message.msg


def test_archived_tickets_missing_field_behind_a_relation_is_e004() -> None:
    messages = skips_messages(SKIPS_ARCHIVED_TICKETS="owner__no_such_field")
    assert_only_error(messages, "skips.E004")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "is_archived",
        "is_archived__exact",
        "owner__is_active",
        archived_cases,
        lambda: Q(is_archived=True),
        "tests.test_checks.archived_cases",
    ],
)
def test_valid_archived_tickets_gives_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_ARCHIVED_TICKETS=value) == []


def test_archived_tickets_check_leaves_an_unset_ticket_model_to_e001() -> None:
    messages = skips_messages(SKIPS_TICKET_MODEL=None, SKIPS_ARCHIVED_TICKETS="no_such_field")
    assert_only_error(messages, "skips.E001")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("title", "CharField"),
        ("pk", "AutoField"),
        ("owner", "ForeignKey"),
        ("labels__name", "CharField"),
        ("title__gt", "CharField"),  # a lookup, but not one that takes True
        ("opened_at__year", "IntegerField"),  # a transform
    ],
)
def test_archived_lookup_of_a_non_boolean_is_e004(value: str, field: str) -> None:
    messages = skips_messages(SKIPS_ARCHIVED_TICKETS=value)
    assert_only_error(messages, "skips.E004")
    assert f"({field}) is not a BooleanField" in messages[0].msg
    assert repr(value) in messages[0].msg


@pytest.mark.parametrize(
    "value",
    [
        "title__isnull",  # any field, with a lookup that takes True
        "owner__isnull",
        "labels__isnull",
        "owner__is_active__exact",
        lambda: Q(pk__in=[]),  # matches nothing: no query at all, still valid
        lambda: Q(title="x"),  # the callable form is the host's own Q
        frozen_cases,
        lambda: ~frozen_cases() | Q(is_archived=True),
    ],
)
def test_valid_archived_rules_give_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_ARCHIVED_TICKETS=value) == []


@pytest.mark.parametrize(
    "value",
    [
        lambda: Q(NotCompilable()),  # filter() takes it; only compiling the WHERE fails
        lambda: Q(is_archived=True) | Q(NotCompilable()),
        lambda: Q(Exists(Label.objects.filter(name=OuterRef("no_such_field")))),
        lambda: Q(is_archived="not a boolean at all", title__in=5),
        lambda: "is_archived",  # not a Q
        lambda: Exists(Label.objects.all()),  # an expression, not a Q
        lambda: None,
        lambda: 1 / 0,  # raises
        lambda user: Q(),  # needs an argument
        "tests.hosts.rules.not_a_q_archived_rule",
        "tests.hosts.rules.uncompilable_archived_rule",
        BROKEN_MODULE,
    ],
)
def test_archived_rule_that_does_not_compile_is_e004(value: Any) -> None:
    messages = skips_messages(SKIPS_ARCHIVED_TICKETS=value)
    assert_only_error(messages, "skips.E004")
    assert "SKIPS_ARCHIVED_TICKETS" in messages[0].msg


def test_archived_rule_is_compiled_with_the_routed_database(settings: Any) -> None:
    # The router sends tickets to an alias that does not exist: compiling the
    # rule asks for its connection, which proves the routed one is used.
    messages = skips_messages(
        DATABASE_ROUTERS=[f"{__name__}.TicketsElsewhereRouter"],
        SKIPS_ARCHIVED_TICKETS="is_archived",
    )
    assert {m.id for m in messages} == {"skips.E004", "skips.E011"}
    (e004,) = [m for m in messages if m.id == "skips.E004"]
    assert "helpdesk" in e004.msg


# SKIPS_AUTHENTICATION_CLASSES


@pytest.mark.parametrize(
    "value",
    [
        ["skips.authentication.NoSuchAuthentication"],
        ["no_such_module.Authentication"],
        ["nodot"],
        ["skips.permissions.IsAgent"],  # a class, not an authentication class
        ["skips.authentication.authtoken_user"],  # a function
        [NOT_CALLABLE],
        ["skips.authentication.BearerTokenAuthentication", 42],
        [BearerTokenAuthentication()],  # an instance, not the class
        "skips.authentication.BearerTokenAuthentication",  # a string, not a list
        42,
    ],
)
def test_bad_authentication_classes_is_e005(value: Any) -> None:
    messages = skips_messages(SKIPS_AUTHENTICATION_CLASSES=value)
    assert_only_error(messages, "skips.E005")


def test_each_bad_authentication_class_is_reported() -> None:
    messages = skips_messages(
        SKIPS_AUTHENTICATION_CLASSES=[
            "skips.nope.A",
            "skips.authentication.BearerTokenAuthentication",
            "skips.permissions.IsAgent",
        ]
    )
    assert_only_error(messages, "skips.E005")
    assert len(messages) == 2
    assert "'skips.nope.A'" in messages[0].msg
    assert "'skips.permissions.IsAgent'" in messages[1].msg


def test_none_among_authentication_classes_is_e005() -> None:
    messages = skips_messages(SKIPS_AUTHENTICATION_CLASSES=[None])
    assert_only_error(messages, "skips.E005")


@pytest.mark.parametrize(
    "value",
    [
        ["skips.authentication.BearerTokenAuthentication"],
        ("skips.authentication.TokenBasicAuthentication",),
        [BearerTokenAuthentication, "rest_framework.authentication.BasicAuthentication"],
    ],
)
def test_valid_authentication_classes_give_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_AUTHENTICATION_CLASSES=value) == []


# SKIPS_TOKEN_USER


@pytest.mark.parametrize(
    "value",
    [
        "skips.authentication.no_such_function",
        "no_such_module.token_user",
        "nodot",
        NOT_CALLABLE,
        42,
        None,
    ],
)
def test_bad_token_user_is_e006(value: Any) -> None:
    messages = skips_messages(SKIPS_TOKEN_USER=value)
    assert_only_error(messages, "skips.E006")
    assert "SKIPS_TOKEN_USER" in messages[0].msg


@pytest.mark.parametrize(
    "value",
    ["skips.authentication.authtoken_user", "tests.test_checks.token_user", token_user],
)
def test_valid_token_user_gives_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_TOKEN_USER=value) == []


# SKIPS_MAX_BODY_SIZE


@pytest.mark.parametrize("value", ["abc", "65536", True, False, 10, 0, -1, 1023, 2048.0, None])
def test_bad_max_body_size_is_e007(value: Any) -> None:
    messages = skips_messages(SKIPS_MAX_BODY_SIZE=value)
    assert_only_error(messages, "skips.E007")
    assert "SKIPS_MAX_BODY_SIZE" in messages[0].msg


@pytest.mark.parametrize("value", [1024, 64 * 1024, 10**9])
def test_valid_max_body_size_gives_no_message(value: int) -> None:
    assert skips_messages(SKIPS_MAX_BODY_SIZE=value) == []


# SKIPS_TICKET_ACCESS


@pytest.mark.parametrize(
    "value",
    [
        "tests.hosts.rules.no_such_rule",
        "no_such_module.rule",
        "nodot",
        "",
        BROKEN_MODULE,
        NOT_CALLABLE,
        "tests.hosts.rules.access_without_a_user",  # takes no argument
        lambda: Q(),
        lambda user, other: Q(),
        42,
        True,
        ["tests.test_checks.ticket_access"],
    ],
)
def test_bad_ticket_access_is_e009(value: Any) -> None:
    messages = skips_messages(SKIPS_TICKET_ACCESS=value)
    assert_only_error(messages, "skips.E009")
    assert "SKIPS_TICKET_ACCESS" in messages[0].msg


@pytest.mark.parametrize(
    "value",
    [
        None,
        ticket_access,
        "tests.test_checks.ticket_access",
        "tests.hosts.rules.own_team_access",
        lambda user, *, extra=None: Q(),
        lambda *args: Q(),
        lambda user: 1 / 0,  # not called by the check: it needs a real user
        len,  # a builtin taking one argument
    ],
)
def test_valid_ticket_access_gives_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_TICKET_ACCESS=value) == []


# The ticket model's primary key


@pytest.mark.parametrize(
    ("model", "field"),
    [("sessions.Session", "CharField"), ("authtoken.Token", "CharField")],
)
def test_ticket_model_without_an_integer_primary_key_is_e010(model: str, field: str) -> None:
    messages = skips_messages(SKIPS_TICKET_MODEL=model, SKIPS_ARCHIVED_TICKETS=None)
    assert_only_error(messages, "skips.E010")
    assert model in messages[0].msg
    assert field in messages[0].msg


@pytest.mark.parametrize("model", ["testapp.Case", "testapp.Label", "auth.Group", "testapp.Agent"])
def test_ticket_model_with_an_integer_primary_key_gives_no_message(model: str) -> None:
    assert skips_messages(SKIPS_TICKET_MODEL=model, SKIPS_ARCHIVED_TICKETS=None) == []


def test_primary_key_check_leaves_a_missing_ticket_model_to_e002() -> None:
    assert_only_error(skips_messages(SKIPS_TICKET_MODEL="nope.Missing"), "skips.E002")


# Database routers


def test_tickets_and_users_written_elsewhere_than_skips_is_e011() -> None:
    messages = skips_messages(
        DATABASE_ROUTERS=[f"{__name__}.TicketsElsewhereRouter"], SKIPS_ARCHIVED_TICKETS=None
    )
    assert_only_error(messages, "skips.E011")
    assert sorted(str(m.obj._meta.label) for m in messages) == ["testapp.Agent", "testapp.Case"]
    assert "'helpdesk'" in messages[0].msg


def test_reads_spread_over_replicas_give_no_message() -> None:
    messages = skips_messages(
        DATABASE_ROUTERS=[f"{__name__}.ReplicaRouter"], SKIPS_ARCHIVED_TICKETS=None
    )
    assert messages == []


# Several at once, and through manage.py check


def test_every_bad_setting_is_reported_together() -> None:
    messages = skips_messages(
        SKIPS_TICKET_MODEL="nope.Missing",
        SKIPS_TICKET_SERIALIZER="nodot",
        SKIPS_ARCHIVED_TICKETS=42,
        SKIPS_AUTHENTICATION_CLASSES=["x"],
        SKIPS_TOKEN_USER=NOT_CALLABLE,
        SKIPS_MAX_BODY_SIZE="abc",
    )
    assert sorted(m.id for m in messages) == [
        "skips.E002",
        "skips.E003",
        "skips.E004",
        "skips.E005",
        "skips.E006",
        "skips.E007",
    ]


def test_a_non_list_authentication_classes_does_not_hide_a_bad_token_user() -> None:
    messages = skips_messages(SKIPS_AUTHENTICATION_CLASSES="x", SKIPS_TOKEN_USER=NOT_CALLABLE)
    assert sorted(m.id for m in messages) == ["skips.E005", "skips.E006"]


@pytest.mark.parametrize(
    ("setting", "value", "error_id"),
    [
        ("SKIPS_TICKET_MODEL", None, "skips.E001"),
        ("SKIPS_TICKET_MODEL", "nope.Missing", "skips.E002"),
        ("SKIPS_TICKET_SERIALIZER", "no_such_module.Serializer", "skips.E003"),
        ("SKIPS_ARCHIVED_TICKETS", "no_such_field", "skips.E004"),
        ("SKIPS_AUTHENTICATION_CLASSES", ["skips.nope.Auth"], "skips.E005"),
        ("SKIPS_TOKEN_USER", NOT_CALLABLE, "skips.E006"),
        ("SKIPS_MAX_BODY_SIZE", "abc", "skips.E007"),
        ("SKIPS_TICKET_ACCESS", NOT_CALLABLE, "skips.E009"),
    ],
)
def test_manage_py_check_reports_a_bad_setting(setting: str, value: Any, error_id: str) -> None:
    with override_settings(**{setting: value}), pytest.raises(SystemCheckError) as excinfo:
        call_command("check")
    assert error_id in str(excinfo.value)
    assert setting in str(excinfo.value)


@pytest.mark.parametrize("value", ["fast", "0/min", "-1/s", "10/fortnight", "10", 10, ["1/s"]])
def test_bad_throttle_rate_is_e008(value: Any) -> None:
    assert_only_error(skips_messages(SKIPS_THROTTLE_RATE=value), "skips.E008")


@pytest.mark.parametrize("value", [None, "700/min", "10/s", "5/hour", "100/day"])
def test_valid_throttle_rate_gives_no_message(value: Any) -> None:
    assert skips_messages(SKIPS_THROTTLE_RATE=value) == []
