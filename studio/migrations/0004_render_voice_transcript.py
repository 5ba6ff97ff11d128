"""Renders name the synthesizer voice chosen for their text, and keep the transcript pasted for an uploaded
recording.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0003_render_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="render",
            name="voice",
            field=models.CharField(blank=True, default="", max_length=40),
        ),
        migrations.AddField(
            model_name="render",
            name="transcript",
            field=models.TextField(blank=True, default=""),
        ),
    ]
