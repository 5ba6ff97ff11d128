"""The verifier on a render of another shape: a 9:16 video (portrait on a blurred extension of the photo) keeps its
watermark, signed manifest and content fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference import media
from tests.helpers import module_render
from tests.verifier.conftest import GREETING
from tests.verifier.test_verification import _reencoded

pytestmark = pytest.mark.django_db

PORTRAIT_SERIAL = 27_182_818


@pytest.fixture(scope="module")
def portrait_render(django_db_setup, django_db_blocker, portrait_jpeg):
    """One 9:16 render at 720 px made by the real pipeline, shared read-only by this module."""
    with module_render(
        django_db_blocker,
        portrait_jpeg,
        username="shape-owner",
        text=GREETING,
        serial=PORTRAIT_SERIAL,
        aspect_ratio="9:16",
        long_side=720,
    ) as done:
        yield done


def test_a_9_16_render_has_the_asked_shape(portrait_render):
    first = next(iter(media.video_frames(Path(portrait_render.video.path))))

    height, width = first.shape[:2]
    assert (width, height) == (404, 720)


def test_a_9_16_render_verifies_with_its_credential_watermark_and_fingerprint(portrait_render):
    from provenance.models import RenderFingerprint
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    report = report_as_dict(video_verify(path=Path(portrait_render.video.path)))

    assert report["verdict"] == "candor_generated"
    assert report["c2pa"]["valid"] and report["c2pa"]["hash_binding_intact"] and not report["c2pa"]["tampered"]
    assert report["watermark"]["found"] and report["watermark"]["render_id"] == str(portrait_render.id)
    assert report["content_match"] is True
    fingerprint = RenderFingerprint.objects.get(render=portrait_render)
    assert (fingerprint.frame_width, fingerprint.frame_height) == (404, 720)


def test_a_stripped_re_encoded_9_16_copy_is_recovered_through_the_watermark(portrait_render, tmp_path):
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    copy = _reencoded(Path(portrait_render.video.path), tmp_path / "copy.mp4", crf=28)
    report = report_as_dict(video_verify(path=copy))

    assert report["c2pa"]["present"] is False
    assert report["verdict"] == "candor_generated"
    assert report["watermark"]["render_id"] == str(portrait_render.id)
    assert report["content_match"] is True
