"""Renders count how often a worker started them, so that a render that keeps killing its worker is given up."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studio', '0002_render_idempotency_key'),
    ]

    operations = [
        migrations.AddField(
            model_name='render',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
