"""A portrait's rig is built once and kept beside it: every later render reads it back, erasure deletes it."""

import time

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from consent.models import Consent
from consent.services import consent_erase
from inference import rig as rig_module
from studio.models import Render
from studio.services import portrait_rig_load, render_enqueue, render_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def rig_builds(monkeypatch):
    """How many times a rig was built from the photo."""
    builds = []
    build = rig_module.portrait_rig

    def counted(image, **options):
        builds.append(options)
        return build(image, **options)

    monkeypatch.setattr(rig_module, "portrait_rig", counted)
    return builds


def _cached_rigs(portrait) -> list[str]:
    return (
        [name for name in default_storage.listdir("rigs")[1] if name.startswith(str(portrait.id))]
        if default_storage.exists("rigs")
        else []
    )


def test_renders_of_one_portrait_build_its_rig_once(creator, consented_portrait, rig_builds):
    for language in ("en", "de"):
        render = render_enqueue(
            owner=creator,
            portrait=consented_portrait,
            purpose="marketing",
            text="Hello there.",
            language=language,
            dispatch=False,
        )
        assert render_run(render_id=render.id).status == Render.Status.DONE
    assert len(rig_builds) == 1
    assert len(_cached_rigs(consented_portrait)) == 1


def test_the_rig_is_built_while_the_speech_is_read_and_progress_keeps_coming(
    creator, consented_portrait, rig_builds, monkeypatch
):
    """A reading longer than the progress interval (a long text, or the natural voice loading in a new process)."""
    from inference import speech

    read = speech.synthesize
    rig_started_during_reading, reading = [], []

    def slow_reading(*args, **options):
        begun = time.monotonic()
        while not rig_builds and time.monotonic() < begun + 1.5:
            time.sleep(0.02)
        rig_started_during_reading.append(bool(rig_builds))
        time.sleep(max(0.0, begun + 1.5 - time.monotonic()))
        reading.extend((begun, time.monotonic()))
        return read(*args, **options)

    monkeypatch.setattr(speech, "synthesize", slow_reading)
    reports = []
    render = render_enqueue(
        owner=creator,
        portrait=consented_portrait,
        purpose="marketing",
        text="Hello there.",
        language="en",
        dispatch=False,
    )
    assert render_run(render_id=render.id, on_progress=lambda _: reports.append(time.monotonic())).status == "done"
    assert rig_started_during_reading == [True]
    begun, ended = reading
    assert any(begun < moment < ended for moment in reports), "no progress while the speech was read"


def test_a_damaged_cached_rig_is_rebuilt_not_used(consented_portrait, rig_builds):
    first = portrait_rig_load(portrait=consented_portrait, max_side=256)
    (name,) = _cached_rigs(consented_portrait)
    default_storage.delete(f"rigs/{name}")
    default_storage.save(f"rigs/{name}", ContentFile(b"damaged"))
    again = portrait_rig_load(portrait=consented_portrait, max_side=256)
    assert len(rig_builds) == 2
    assert np.array_equal(again.image, first.image) and again.image.shape[:2] == (256, 256)
    assert portrait_rig_load(portrait=consented_portrait, max_side=256) is not None and len(rig_builds) == 2


def test_erasing_the_portrait_deletes_its_cached_rigs(consented_portrait):
    portrait_rig_load(portrait=consented_portrait, max_side=256)
    portrait_rig_load(portrait=consented_portrait, max_side=320)
    assert len(_cached_rigs(consented_portrait)) == 2
    Consent.objects.filter(portrait=consented_portrait).update(revoke_token="erase-me")
    consent_erase(revoke_token="erase-me")
    assert _cached_rigs(consented_portrait) == []
