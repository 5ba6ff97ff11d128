"""Renders count how often a worker started them (a render that keeps killing its worker is given up) and record
when their job reached the broker (one submitted while the broker was down is queued later)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0002_render_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="render",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="render",
            name="dispatched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
