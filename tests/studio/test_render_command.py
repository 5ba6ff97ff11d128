"""`manage.py render`: the same consent-gated pipeline in the foreground, writing a real MP4."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from inference import media
from tests.helpers import active_portrait, upload_portrait

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_without_active_consent(api, portrait_jpeg, tmp_path):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    with pytest.raises(CommandError, match="consent_required"):
        call_command(
            "render", portrait=portrait_id, text="Hello.", language="en", out=tmp_path / "x.mp4", stderr=StringIO()
        )
    assert not (tmp_path / "x.mp4").exists()


def test_it_refuses_an_unknown_portrait(tmp_path, db):
    with pytest.raises(CommandError, match="no portrait"):
        call_command("render", portrait="not-a-uuid", text="Hello.", language="en", out=tmp_path / "x.mp4")


def test_it_renders_a_consented_portrait_to_an_mp4(api, public_api, outbox, subject_jpeg, live_webm, tmp_path):
    portrait_id = active_portrait(api, public_api, outbox, subject_jpeg, live_webm)
    out = tmp_path / "hello.mp4"
    stdout = StringIO()
    call_command(
        "render", portrait=portrait_id, text="Hello there.", language="en", out=out, stdout=stdout, stderr=StringIO()
    )
    info = media.video_probe(out)
    assert info.fps == 25 and info.has_audio and 0.5 < info.duration_s < 3
    assert "written to" in stdout.getvalue()
