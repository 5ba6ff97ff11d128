"""An operator's ONNX mouth model (CANDOR_NEURAL_MODEL) is used by real renders, which still carry Candor's
provenance.
"""

import numpy as np
import pytest

from inference import media
from studio.models import Render
from studio.services import render_enqueue, render_run
from tests.inference.test_neural_backend import SPEAKING_COLOUR, SolidMouth, export
from verifier.services import video_verify

pytestmark = pytest.mark.django_db


def _render(creator, portrait):
    render = render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hello, and welcome.", language="en", dispatch=False
    )
    return render_run(render_id=render.id)


def _share_of_model_colour(path) -> float:
    """Largest share of any frame's pixels within a few levels of the model's colour (the codec shifts them a
    little).
    """
    return max(
        float(np.mean(np.all(np.abs(frame.astype(int) - SPEAKING_COLOUR) < 20, axis=2)))
        for frame in media.video_frames(path, step=5)
    )


def test_renders_use_the_configured_mouth_model_and_stay_verifiable(creator, consented_portrait, settings, tmp_path):
    settings.CANDOR_NEURAL_MODEL = str(export(SolidMouth(), tmp_path / "mouth.onnx"))
    done = _render(creator, consented_portrait)
    assert done.status == Render.Status.DONE, done.error
    assert _share_of_model_colour(done.video.path) > 0.005
    assert video_verify(path=done.video.path).verdict == "candor_generated"

    settings.CANDOR_NEURAL_MODEL = ""
    plain = _render(creator, consented_portrait)
    assert _share_of_model_colour(plain.video.path) < 0.0005


def test_a_model_that_does_not_fit_fails_the_render_with_the_reason(creator, consented_portrait, settings, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx model")
    settings.CANDOR_NEURAL_MODEL = str(broken)
    done = _render(creator, consented_portrait)
    assert done.status == Render.Status.FAILED
    assert "model" in done.error and not done.video
