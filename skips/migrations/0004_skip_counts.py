# The counts of listed skips per agent (skips.rollups). The triggers that keep
# them current are installed after migrate, on PostgreSQL only, from the
# settings in force (the host's ticket table and archived field).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("skips", "0003_export_permission_and_tombstones"),
    ]

    operations = [
        migrations.CreateModel(
            name="SkipCount",
            fields=[
                (
                    "user_id",
                    models.BigIntegerField(
                        primary_key=True, serialize=False, verbose_name="agent id"
                    ),
                ),
                ("n", models.BigIntegerField(default=0, verbose_name="skips")),
            ],
            options={
                "verbose_name": "skip count",
                "verbose_name_plural": "skip counts",
                "default_permissions": (),
            },
        ),
    ]
