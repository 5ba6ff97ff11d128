"""The person pictured approves with the browser's camera: headless Chromium films a fake camera and microphone.

Chromium's fake capture devices play a Y4M video and a WAV file (--use-file-for-fake-video-capture and
--use-file-for-fake-audio-capture). It opens those files each time a page starts the camera, so the test writes the
clip answering the challenge the page shows (the challenge is random per viewing) before pressing Record.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import cv2
import pytest
import skimage.data
import soundfile

from consent.models import PURPOSES, Consent
from inference import media
from tests.clips import liveness_clip
from tests.helpers import upload_portrait

from .conftest import PHONE, Browser, chromium_driver

pytestmark = pytest.mark.django_db(transaction=True)

TURNS = ("left", "right", "up", "down")
# The page records six seconds; a longer clip is never looped within one recording (a loop would repeat the turns).
CLIP_SECONDS = 7.0
CLIP_FPS = 15
RECORDING_TIMEOUT_S = 30
DECISION_TIMEOUT_S = 120


class FakeCamera:
    """The files Chromium's fake camera and microphone play; `play` replaces them with a clip's picture and sound."""

    def __init__(self, folder: Path):
        self.video = folder / "camera.y4m"
        self.audio = folder / "microphone.wav"

    def play(self, clip_mp4: bytes) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "clip.mp4"
            source.write_bytes(clip_mp4)
            frames = list(media.video_frames(source))
            sound = media.audio_decode(source)
            height, width = frames[0].shape[:2]
            y4m = Path(scratch) / "camera.y4m"
            with y4m.open("wb") as handle:
                # Chromium reads 4:2:0 Y4M only: each frame is its Y plane, then its U and V planes.
                handle.write(f"YUV4MPEG2 W{width} H{height} F{CLIP_FPS}:1 Ip A1:1 C420jpeg\n".encode())
                for frame in frames:
                    handle.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
            wav = Path(scratch) / "microphone.wav"
            soundfile.write(wav, sound, media.AUDIO_SAMPLE_RATE, subtype="PCM_16")
            # Whole files at once: Chromium must never open one half written.
            os.replace(y4m, self.video)
            os.replace(wav, self.audio)


@pytest.fixture
def camera(tmp_path) -> FakeCamera:
    return FakeCamera(tmp_path)


@pytest.fixture
def filmed(camera, live_server, settings):
    """A Chromium of its own whose camera and microphone are the fake camera's files, granted without a prompt."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    flags = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
             f"--use-file-for-fake-video-capture={camera.video}", f"--use-file-for-fake-audio-capture={camera.audio}")
    with chromium_driver(*flags) as driver:
        yield Browser(driver, live_server.url)


def _find(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def _challenge_turns(browser) -> list[str]:
    """The two head turns the page asks for, read from its instructions as the person pictured reads them."""
    text = _find(browser, "#challenge").text
    return list(re.search(r"turn your head (\w+), then (\w+)", text).groups())


def _record_and_approve(browser, camera, clip: bytes, name: str) -> None:
    camera.play(clip)
    _find(browser, "#record").click()
    browser.wait_for(lambda driver: driver.execute_script(
        "const v = document.getElementById('preview'); return v.srcObject && v.videoWidth > 0"), timeout=RECORDING_TIMEOUT_S)
    browser.screenshot(f"{name}-recording", size=PHONE)
    browser.wait_for(lambda driver: _find(browser, "#record-status").text.startswith("Recorded"), timeout=RECORDING_TIMEOUT_S)
    assert browser.driver.execute_script("return document.getElementById('capture').files[0].type").startswith("video/webm")
    _find(browser, "#full_name").send_keys("Eileen Collins")
    # Marks this page: the answer has arrived once a page without the mark has loaded.
    browser.driver.execute_script("window.candorAnswered = true")
    _find(browser, "button[name=decision][value=approve]").click()
    browser.wait_for(lambda driver: driver.execute_script("return window.candorAnswered !== true && document.readyState === 'complete'"),
                     timeout=DECISION_TIMEOUT_S)


def test_the_person_pictured_approves_with_the_camera_after_a_wrong_answer_is_refused(
    filmed, camera, creator, api, outbox, portrait_jpeg
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]
    photo = skimage.data.astronaut()

    filmed.open(f"/consent/{token}/")
    # On a phone the whole consent text shows, nothing runs off the side of the screen.
    filmed.driver.set_window_size(*PHONE)
    assert filmed.driver.execute_script(
        "const text = document.querySelector('pre.consent-text');"
        "return text.scrollWidth <= text.clientWidth && document.documentElement.scrollWidth <= window.innerWidth"
    ), "the consent text or the page is wider than a phone's screen"
    assert _find(filmed, "#camera").is_displayed(), "the camera recorder stays hidden: getUserMedia or MediaRecorder is missing"
    asked = _challenge_turns(filmed)
    # The same person, live and speaking, but turning the other two ways.
    wrong = [turn for turn in TURNS if turn not in asked]
    _record_and_approve(filmed, camera, liveness_clip(photo, turns=wrong, fps=CLIP_FPS, seconds=CLIP_SECONDS), "13-consent-camera")
    refusal = _find(filmed, "p.error[role=alert]").text
    assert f"do not answer the challenge ({', '.join(asked)})" in refusal, refusal
    assert Consent.objects.get().status == "pending"
    filmed.screenshot("14-consent-camera-wrong-turns", size=PHONE)
    # Chromium logs the refusal's 400 answer as a failed page load; nothing else may appear in the console.
    assert [entry for entry in filmed.console_errors() if "status of 400" not in entry] == []

    # The refusal page asks a fresh challenge; this time the clip answers it.
    asked = _challenge_turns(filmed)
    _record_and_approve(filmed, camera, liveness_clip(photo, turns=asked, fps=CLIP_FPS, seconds=CLIP_SECONDS), "15-consent-camera")
    consent = Consent.objects.get()
    assert _find(filmed, "h1").text == "You approved", consent.liveness or _find(filmed, "main").text
    assert consent.status == "active" and sorted(consent.purposes) == sorted(PURPOSES)
    assert consent.liveness["passed"] and consent.liveness["turns_seen"] == asked
    filmed.assert_clean_console()
    filmed.screenshot("16-consent-camera-approved", size=PHONE)
