# Hand-edited: the ticket model is the host's, named by SKIPS_TICKET_MODEL, so
# the foreign key and the dependency read that setting (as AUTH_USER_MODEL's do).
# The ticket model must exist in its app's first migration, and the setting
# cannot change once this migration has run.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from skips.conf import conf


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(conf.TICKET_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Skip",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        blank=True, default="", max_length=1024, verbose_name="reason"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="created at"
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="updated at"
                    ),
                ),
                (
                    "ticket",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="skips",
                        to=conf.TICKET_MODEL,
                        verbose_name="ticket",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ticket_skips",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="agent",
                    ),
                ),
            ],
            options={
                "verbose_name": "skip",
                "verbose_name_plural": "skips",
                "ordering": ("-created_at", "-id"),
                "indexes": [
                    models.Index(fields=["created_at", "id"], name="skips_created_id_idx"),
                    models.Index(
                        fields=["user", "created_at", "id"], name="skips_user_created_idx"
                    ),
                    models.Index(
                        fields=["ticket", "created_at", "id"], name="skips_ticket_created_idx"
                    ),
                ],
            },
        ),
    ]
