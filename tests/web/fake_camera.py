"""Chromium's fake camera and microphone answering a live capture's schedule (tests/web/test_live_capture.py).

Chromium plays a Y4M video and a WAV file as its camera and microphone (--use-file-for-fake-video-capture and
--use-file-for-fake-audio-capture), from their start each time a page opens the camera. With the schedule's seed
fixed (CANDOR_CAPTURE_SCHEDULE_SEED) a test knows when each prompt comes, `consent.services.live.capture_schedule`,
and writes files in which a person, made from a photo, turns as asked a reaction time after each prompt, reflects the
screen's flash on their skin and reads the digits aloud, as someone in front of the page would.

Times in the schedule (`due_s`) count from the arrival of the first chunk; the files' own time starts when the page
opens the camera, FIRST_CHUNK_S earlier. Between the two the page asks the server for a capture, which on a loaded
machine took from a tenth of a second to over half a second; a person in front of the screen follows what it shows,
but these files are written beforehand, so the watch script (`live_check_watch`) holds the recorder's start until
RECORDER_STARTS_S after the camera opened: that makes the files' timing the same on a quiet and a busy machine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import soundfile

from inference import faces, media
from tests.clips import face_crop, flash_reflected, head_turned, mouth_opened, speech_envelope

# How much of the screen's light the face reflects: as the server-side live capture tests have it.
from tests.live import FLASH_STRENGTH

WIDTH, HEIGHT, FPS = 640, 480, 15
SECONDS = 15.0
# From the camera opening to the recorder's start (held there by the watch script: asking for the capture came
# within it), then to the first chunk's arrival: one timeslice (0.25 s) and its post.
RECORDER_STARTS_S = 1.2
FIRST_CHUNK_S = RECORDER_STARTS_S + 0.3
# A prompt shows on the page when the answer to the next chunk arrives, up to a timeslice after it is due.
SHOWN_AFTER_DUE_S = 0.15
# A person starts turning this long after the prompt shows (the server accepts 0.15-1.6 s), holds the turn, returns.
REACTION_S = 0.6
TURN_HOLD_S = 0.7
# The camera sees the screen's colour a little after the page shows it (the paint, the camera's exposure); the server
# looks for the reflection 0-0.7 s after the flash is revealed. With the recorder's start held it found these files'
# reflection 0.16-0.24 s after the reveal with 0.25 here, 0.40-0.47 s with 0.35, and 0.29-0.47 s with this, on a quiet
# and a loaded machine: near the window's middle.
FLASH_SEEN_AFTER_S = 0.3
TURN_RAMP_S = 0.15


@dataclass(frozen=True)
class FakeCamera:
    """The two files a Chromium started with `flags` plays as its camera and microphone."""

    video: Path
    audio: Path

    @property
    def flags(self) -> tuple[str, ...]:
        return (
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={self.video}",
            f"--use-file-for-fake-audio-capture={self.audio}",
        )


def camera_framing(photo: np.ndarray) -> np.ndarray:
    """The photo's face framed as a webcam sees it: HEIGHT x WIDTH RGB, the face in the middle third."""
    return webcam_framed(face_crop(photo))


def webcam_framed(selfie: np.ndarray) -> np.ndarray:
    """A selfie framing (tests/clips.py face_crop, square RGB) scaled and framed as a webcam sees it: HEIGHT x WIDTH."""
    square = cv2.resize(selfie, (HEIGHT, HEIGHT), interpolation=cv2.INTER_CUBIC)
    side = (WIDTH - HEIGHT) // 2
    return cv2.copyMakeBorder(square, 0, 0, side, WIDTH - HEIGHT - side, cv2.BORDER_REFLECT)


def _clip_time(due_s: float) -> float:
    """When a prompt due at due_s (server time, from the first chunk) shows on the page, in the files' time."""
    return FIRST_CHUNK_S + due_s + SHOWN_AFTER_DUE_S


def _turn_amount(t: float, start: float) -> float:
    """0..1: how far a turn starting at `start` has gone at t (ramps up, holds, ramps back)."""
    end = start + TURN_HOLD_S
    if t <= start or t >= end:
        return 0.0
    return float(min(1.0, (t - start) / TURN_RAMP_S, (end - t) / TURN_RAMP_S))


def _flash_colour(t: float, flash: dict) -> str | None:
    """The colour the screen shows at t, in the files' time, or None outside the flash."""
    start = _clip_time(flash["due_s"]) + FLASH_SEEN_AFTER_S
    for colour, duration_ms in zip(flash["colours"], flash["durations_ms"], strict=True):
        if start <= t < start + duration_ms / 1000:
            return colour
        start += duration_ms / 1000
    return None


def spoken_digits(digits: str) -> np.ndarray:
    """The digits read aloud in English, mono float32 at media.AUDIO_SAMPLE_RATE."""
    from inference import speech

    spoken = speech.synthesize(digits, "en")
    return media.audio_resample(spoken.audio, spoken.sample_rate, media.AUDIO_SAMPLE_RATE)


def fake_camera_write(
    camera: FakeCamera, photo: np.ndarray, schedule: list[dict], *, turns: list[str] | None = None, seed: int = 0
) -> None:
    """Write the camera's and microphone's files: the photo's person answering `schedule`.

    turns: the directions actually turned, in order (default: those the schedule asks); a wrong list makes a capture
    that the server refuses as not answering its challenge.
    """
    by_kind: dict[str, list[dict]] = {}
    for prompt in schedule:
        by_kind.setdefault(prompt["kind"], []).append(prompt)
    asked = by_kind["turn"]
    turned = turns if turns is not None else [prompt["value"] for prompt in asked]
    turn_starts = [
        (direction, _clip_time(prompt["due_s"]) + REACTION_S) for direction, prompt in zip(turned, asked, strict=True)
    ]
    flash = by_kind["flash"][0]
    digits = by_kind["digits"][0]

    rate = media.AUDIO_SAMPLE_RATE
    audio = np.zeros(int(SECONDS * rate), np.float32)
    spoken = spoken_digits(digits["value"])
    begin = int((_clip_time(digits["due_s"]) + REACTION_S) * rate)
    audio[begin : begin + spoken.size] = spoken[: audio.size - begin]
    n_frames = int(SECONDS * FPS)
    mouth = speech_envelope(audio, rate, n_frames, FPS)

    face = camera_framing(photo)
    landmarks = faces.face_single(face).landmarks
    rng = np.random.default_rng(seed)
    partial_video, partial_audio = camera.video.with_suffix(".part.y4m"), camera.audio.with_suffix(".part.wav")
    with partial_video.open("wb") as handle:
        # Chromium reads 4:2:0 Y4M only: each frame is its Y plane, then its U and V planes.
        handle.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(n_frames):
            t = index / FPS
            frame = mouth_opened(face, landmarks, float(mouth[index]))
            for direction, start in turn_starts:
                frame = head_turned(frame, landmarks, direction, _turn_amount(t, start))
            colour = _flash_colour(t, flash)
            if colour is not None:
                frame = flash_reflected(frame, landmarks, colour, FLASH_STRENGTH, rng=rng)
            handle.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    soundfile.write(partial_audio, audio, rate, subtype="PCM_16", format="WAV")
    # Whole files at once: Chromium must never open one half written.
    os.replace(partial_video, camera.video)
    os.replace(partial_audio, camera.audio)


# The page's side: what the person pictured sees, read from the DOM as it changes.

_ARROWS = {"left": "\u2190", "right": "\u2192", "up": "\u2191", "down": "\u2193"}
_DIRECTIONS = {"left": "to your own left", "right": "to your own right", "up": "up", "down": "down"}
# From the click to the last chunk: about 13 s, with room for a loaded machine; the analysis then takes at most the
# server's own wall-clock limit, CANDOR_CAPTURE_WALL_S.
CAPTURE_S = 40
# Records every prompt the page shows and every change of the flash (colour, size, the viewport's size), with when,
# and every chunk the page posts, with how many were in flight at once; holds the recorder's start until
# RECORDER_STARTS_S after the camera opened.
_WATCH = (
    f"""
const recorderStartsMs = {RECORDER_STARTS_S * 1000};
"""
    + """
window.liveSeen = {prompts: [], flash: [], chunks: [], most_chunks_in_flight: 0};
if (!window.liveWatched) {
  window.liveWatched = true;
  const open = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  let cameraOpenedMs = 0;
  navigator.mediaDevices.getUserMedia = async function (constraints) {
    const opening = performance.now();
    const stream = await open(constraints);
    cameraOpenedMs = opening;
    return stream;
  };
  const start = MediaRecorder.prototype.start;
  MediaRecorder.prototype.start = function (timeslice) {
    const wait = cameraOpenedMs + recorderStartsMs - performance.now();
    window.liveSeen.recorder_wait_ms = wait;
    if (wait <= 0) return start.call(this, timeslice);
    setTimeout(() => start.call(this, timeslice), wait);
  };
  const send = window.fetch;
  let inFlight = 0;
  window.fetch = async function (url, options) {
    const chunk = String(url).includes("/chunks/");
    if (chunk) {
      inFlight += 1;
      window.liveSeen.chunks.push(String(url));
      window.liveSeen.most_chunks_in_flight = Math.max(window.liveSeen.most_chunks_in_flight, inFlight);
    }
    try {
      return await send.call(window, url, options);
    } finally {
      if (chunk) inFlight -= 1;
    }
  };
  const prompt = document.getElementById("live-prompt"), flash = document.getElementById("live-flash");
  new MutationObserver(() => {
    const shown = window.liveSeen.prompts, last = shown[shown.length - 1];
    if (prompt.textContent && (!last || last.text !== prompt.textContent)) {
      shown.push({text: prompt.textContent, at_ms: performance.now()});
    }
  }).observe(prompt, {childList: true, subtree: true, characterData: true});
  new MutationObserver(() => {
    const box = flash.getBoundingClientRect();
    window.liveSeen.flash.push({hidden: flash.hidden, colour: getComputedStyle(flash).backgroundColor,
      rect: [box.left, box.top, box.width, box.height], viewport: [0, 0, window.innerWidth, window.innerHeight],
      at_ms: performance.now()});
  }).observe(flash, {attributes: true});
}
"""
)


def _live_check_timeout_s() -> float:
    from django.conf import settings

    return CAPTURE_S + settings.CANDOR_CAPTURE_WALL_S


def find(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def prompt_texts(schedule: list[dict]) -> list[str]:
    """What the page shows for each prompt of the schedule, in order."""
    texts = []
    for prompt in schedule:
        if prompt["kind"] == "turn":
            direction = prompt["value"]
            texts.append(f"{_ARROWS[direction]}Turn your head {_DIRECTIONS[direction]}, then face the screen again")
        elif prompt["kind"] == "flash":
            texts.append("Keep facing the screen")
        elif prompt["kind"] == "digits":
            texts.append(f"Read aloud: {prompt['value']}")
        else:
            texts.append("Done: checking your live video\u2026")
    return texts


def live_check_watch(browser) -> None:
    """Start recording what the page shows (read back by live_check_wait)."""
    browser.driver.execute_script(_WATCH)


def live_check_wait(browser, *, leaves_page: bool = False) -> dict:
    """Wait until the live check ends: a refusal shown, or (leaves_page) the page left for the decision. Returns what
    the page showed on the way: {"prompts": [{"text", "at_ms"}, ...], "flash": [{"hidden", "colour", "rect",
    "viewport", "at_ms"}, ...], "chunks": [url, ...], "most_chunks_in_flight": n}.
    """
    seen: dict = {}
    timeout = _live_check_timeout_s()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = browser.driver.execute_script(
            "return [window.liveSeen || null, document.readyState,"
            " !!document.getElementById('live-refusal') && !document.getElementById('live-refusal').hidden]"
        )
        watched, ready, refused = now
        if watched is not None:
            seen = watched
        elif leaves_page and ready == "complete":
            return seen
        if refused:
            assert not leaves_page, (
                f"refused: {find(browser, '#live-refusal').text} (the recorder's start was held "
                f"{seen.get('recorder_wait_ms', 0):.0f} ms; at or under 0 the files' timing does not hold)"
            )
            return seen
        time.sleep(0.1)
    raise AssertionError(f"the live check did not end within {timeout} s: {seen}")


def live_check_sent(browser) -> None:
    """Wait until the page has sent the whole capture and waits for the decision (or was refused on the way)."""
    browser.wait_for(
        lambda driver: driver.execute_script(
            "return document.getElementById('live-status').textContent.startsWith('Checking')"
            " || !document.getElementById('live-refusal').hidden"
        ),
        timeout=CAPTURE_S,
    )


def live_check_approve(browser, camera: FakeCamera, photo: np.ndarray, schedule: list[dict], *, name: str) -> dict:
    """On an open consent page: the camera answers `schedule`, the person types their name and takes the live check;
    returns what the page showed once it has left for the decision.
    """
    fake_camera_write(camera, photo, schedule)
    find(browser, "#full_name").send_keys(name)
    live_check_watch(browser)
    live_check_record(browser, find(browser, "#live-start"))
    find(browser, "#live-send").click()
    return live_check_wait(browser, leaves_page=True)


def live_check_record(browser, begin) -> None:
    """Click `begin` (Start live check, Try again or Record again): the camera's mirror shows, then Start recording,
    the countdown and the capture; returns once the recording waits for review (Send for the check shown).
    """
    begin.click()
    browser.wait_for(lambda driver: find(browser, "#live-record").is_displayed(), timeout=20)
    assert find(browser, "#live-stage").is_displayed(), "the camera's mirror should show before recording"
    find(browser, "#live-record").click()
    browser.wait_for(
        lambda driver: find(browser, "#live-send").is_displayed() or find(browser, "#live-refusal").is_displayed(),
        timeout=CAPTURE_S + 10,
    )
    assert not find(browser, "#live-refusal").is_displayed(), find(browser, "#live-refusal").text


def console_errors_besides_refusals(browser) -> list[str]:
    """The console's errors, less the failed loads Chromium logs for the server's 4xx refusals."""
    return [error for error in browser.console_errors() if "the server responded with a status of 4" not in error]
