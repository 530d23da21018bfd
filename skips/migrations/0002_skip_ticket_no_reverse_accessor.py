# Hand-edited, as 0001: the ticket model is the host's, named by
# SKIPS_TICKET_MODEL, so the foreign key and the dependency read that setting.
# The foreign key installs no reverse accessor or query name on the ticket
# model (related_name="+"), so that none clashes with a name of the host's.
# Nothing changes in the database.

import django.db.models.deletion
from django.db import migrations, models

from skips.conf import conf


class Migration(migrations.Migration):
    dependencies = [
        ("skips", "0001_initial"),
        migrations.swappable_dependency(conf.TICKET_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="skip",
            name="ticket",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=conf.TICKET_MODEL,
                verbose_name="ticket",
            ),
        ),
    ]
