"""pg_trgm indexes for the skips admin's search, on PostgreSQL only.

The admin searches with ``icontains``, ``UPPER(column) LIKE UPPER('%word%')``
on PostgreSQL: a GIN index of ``UPPER(column)`` with ``gin_trgm_ops`` answers
it without reading the whole table. Here on the ticket's subject and on the
user fields that the search reads (login, email, first and last name of
``django.contrib.auth``'s user), and on the skips' reason. Raw SQL, in no model's state: SQLite and
MariaDB migrate through this as a no-op, and the example project does not
need ``django.contrib.postgres`` (docs/howto/admin-search.rst).
"""

from django.db import migrations

#: Index name, table (model label) and the fields whose UPPER() it holds.
INDEXES = [
    ("helpdesk_ticket_subject_trgm", "helpdesk.Ticket", ["subject"]),
    ("helpdesk_user_search_trgm", "auth.User", ["username", "email", "first_name", "last_name"]),
    # The skips' reason (docs/howto/admin-search.rst, "The reason's index").
    ("helpdesk_skip_reason_trgm", "skips.Skip", ["reason"]),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, label, fields in INDEXES:
        model = apps.get_model(label)
        columns = ", ".join(
            f"UPPER({quote(model._meta.get_field(field).column)}) gin_trgm_ops" for field in fields
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)}"
            f" ON {quote(model._meta.db_table)} USING gin ({columns})"
        )


def drop_indexes(apps, schema_editor):
    # The extension stays: other tables may use it.
    if schema_editor.connection.vendor == "postgresql":
        for name, _label, _fields in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("helpdesk", "0001_initial"),
        ("skips", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
