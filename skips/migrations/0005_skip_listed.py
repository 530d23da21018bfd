# Whether a skip's ticket is listed (not archived): kept by the triggers of
# skips.rollups on PostgreSQL (installed and filled after migrate, with partial
# indexes on the listed skips), true and unused elsewhere. Adding the column is
# instant on PostgreSQL (a constant default); filling it is the triggers' job.

from django.db import migrations, models


def remove_triggers(apps, schema_editor):
    # Migrating back: the triggers would go on writing a column that is gone.
    from skips.rollups import uninstall

    uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("skips", "0004_skip_counts"),
    ]

    operations = [
        migrations.AddField(
            model_name="skip",
            name="listed",
            field=models.BooleanField(db_default=True, editable=False, verbose_name="listed"),
        ),
        migrations.RunPython(migrations.RunPython.noop, remove_triggers, elidable=True),
    ]
