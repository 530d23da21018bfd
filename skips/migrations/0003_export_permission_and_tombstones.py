# The incremental export: the permission to use it (skips.export_skip), the
# index it reads skips through (updated_at, id), and the table of deleted skips
# (tombstones) with the index it reads them through (deleted_at, id).
# Hand-written to name no host model: nothing here refers to the ticket or the
# user model (a tombstone keeps their ids as plain integers).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("skips", "0002_skip_ticket_no_reverse_accessor"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="skip",
            options={
                "ordering": ("-created_at", "-id"),
                "permissions": [("export_skip", "Can export skips")],
                "verbose_name": "skip",
                "verbose_name_plural": "skips",
            },
        ),
        migrations.AddIndex(
            model_name="skip",
            index=models.Index(fields=["updated_at", "id"], name="skips_updated_id_idx"),
        ),
        migrations.CreateModel(
            name="SkipTombstone",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        primary_key=True, serialize=False, verbose_name="skip id"
                    ),
                ),
                ("ticket_id", models.BigIntegerField(verbose_name="ticket id")),
                ("user_id", models.BigIntegerField(verbose_name="agent id")),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                ("deleted_at", models.DateTimeField(verbose_name="deleted at")),
            ],
            options={
                "verbose_name": "deleted skip",
                "verbose_name_plural": "deleted skips",
                "default_permissions": (),
                "indexes": [
                    models.Index(fields=["deleted_at", "id"], name="skips_tombstone_deleted_idx")
                ],
            },
        ),
    ]
