"""factory-boy factories of the test host's users, tickets and skips."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from skips.models import Skip
from tests.testapp.models import Agent, Case, Label


def grant(user: Agent, *codenames: str) -> Agent:
    """Give ``user`` the skips permissions named, and forget the cached ones."""
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="skips", codename__in=codenames)
    )
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


class UserFactory(factory.django.DjangoModelFactory):
    """An end user: no skips permission."""

    class Meta:
        model = Agent
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass")

    @factory.post_generation
    def token(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()
            Token.objects.create(user=self)


class AgentFactory(UserFactory):
    """An agent: may record skips and read their own."""

    @factory.post_generation
    def permissions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            grant(self, "add_skip")


class SupervisorFactory(UserFactory):
    """An agent with reports access: may read everyone's skips."""

    @factory.post_generation
    def permissions(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            grant(self, "add_skip", "view_skip")


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("name",)

    name = factory.Iterator(["billing", "vip", "bug", "refund"])


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    title = factory.Faker("sentence", nb_words=5)
    owner = factory.SubFactory(AgentFactory)
    # Secrets a real ticket model holds: no API answer may carry them.
    secret_key = factory.Sequence(lambda n: f"SECRET-KEY-{n}")
    password = factory.Sequence(lambda n: f"SECRET-PASSWORD-{n}")
    token = factory.Sequence(lambda n: f"SECRET-TOKEN-{n}")
    internal_note = factory.Sequence(lambda n: f"SECRET-NOTE-{n}")
    api_key = factory.Sequence(lambda n: f"SECRET-API-KEY-{n}")

    @factory.post_generation
    def labels(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.labels.set(extracted if extracted is not None else [LabelFactory()])


class SkipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skip

    ticket = factory.SubFactory(CaseFactory)
    user = factory.SubFactory(AgentFactory)
    reason = factory.Faker("sentence", nb_words=4)
