"""Migrations: none missing, and the ticket model taken from the setting."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader


@pytest.mark.django_db
def test_no_missing_migrations() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_initial_migration_follows_the_ticket_setting() -> None:
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    migration = loader.get_migration("skips", "0001_initial")
    # The dependency and the foreign key come from SKIPS_TICKET_MODEL (here testapp.Case),
    # not from the model the migration was first written against.
    assert ("testapp", "__first__") in migration.dependencies
    state = loader.project_state(("skips", "0001_initial"))
    ticket_field = state.models["skips", "skip"].fields["ticket"]
    assert ticket_field.remote_field.model.lower() == "testapp.case"
    user_field = state.models["skips", "skip"].fields["user"]
    assert user_field.remote_field.model.lower() == "testapp.agent"


@pytest.mark.django_db
def test_tables_exist_in_the_test_database() -> None:
    tables = connection.introspection.table_names()
    assert "skips_skip" in tables
    assert "testapp_case" in tables
