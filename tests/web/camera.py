"""The person pictured's camera in a real browser: Chromium's fake camera and microphone play a clip made for the
challenge.

Chromium's fake capture devices play a Y4M video and a WAV file (--use-file-for-fake-video-capture and
--use-file-for-fake-audio-capture). It opens those files each time a page starts the camera, so a test writes the
clip answering the challenge the page shows (random, and new after each failed capture) before pressing Record.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import cv2
import soundfile

from inference import media

from .conftest import PHONE

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


def find(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def challenge_turns(browser) -> list[str]:
    """The two head turns the page asks for, read from its instructions as the person pictured reads them."""
    text = find(browser, "#challenge").text
    return list(re.search(r"turn your head (\w+), then (\w+)", text).groups())


def record_and_approve(browser, camera, clip: bytes, name: str) -> None:
    camera.play(clip)
    find(browser, "#record").click()
    browser.wait_for(
        lambda driver: driver.execute_script(
            "const v = document.getElementById('preview'); return v.srcObject && v.videoWidth > 0"
        ),
        timeout=RECORDING_TIMEOUT_S,
    )
    browser.screenshot(f"{name}-recording", size=PHONE)
    browser.wait_for(
        lambda driver: find(browser, "#record-status").text.startswith("Recorded"), timeout=RECORDING_TIMEOUT_S
    )
    assert browser.driver.execute_script("return document.getElementById('capture').files[0].type").startswith(
        "video/webm"
    )
    find(browser, "#full_name").send_keys("Eileen Collins")
    # Marks this page: the answer has arrived once a page without the mark has loaded.
    browser.driver.execute_script("window.candorAnswered = true")
    find(browser, "button[name=decision][value=approve]").click()
    browser.wait_for(
        lambda driver: driver.execute_script(
            "return window.candorAnswered !== true && document.readyState === 'complete'"
        ),
        timeout=DECISION_TIMEOUT_S,
    )
