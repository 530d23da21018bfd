# The counts of listed skips per agent (skips.rollups), as rows of changes.
# The triggers that write them are installed after migrate, on PostgreSQL only,
# from the settings in force (the host's ticket table and archived field).

from django.db import migrations, models


def remove_triggers(apps, schema_editor):
    # Migrating back: the triggers would go on writing to a table that is gone.
    from skips.rollups import uninstall

    uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("skips", "0003_export_permission_and_tombstones"),
    ]

    operations = [
        migrations.CreateModel(
            name="SkipCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("user_id", models.BigIntegerField(verbose_name="agent id")),
                ("n", models.BigIntegerField(verbose_name="skips")),
            ],
            options={
                "verbose_name": "skip count",
                "verbose_name_plural": "skip counts",
                "default_permissions": (),
                "indexes": [models.Index(fields=["user_id"], name="skips_count_user_idx")],
            },
        ),
        migrations.RunPython(migrations.RunPython.noop, remove_triggers, elidable=True),
    ]
