"""Every capture costs little whatever it was built to cost: a small file that decodes to huge frames is refused from
its header, and the analysis runs under CPU and memory limits.
"""

from __future__ import annotations

import io
import os
import resource
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from rest_framework.test import APIClient

from benchmarks.capture_cost import at_webcam_size
from consent import face_match, liveness
from consent.models import Consent, RegistryEntry
from consent.services.capture import PortraitReference, capture_check, identity_descriptors
from consent.services.live import capture_schedule
from inference import faces, recognition
from tests.clips import liveness_clip, mirrored_face_clip
from tests.conftest import LIVE_SEED
from tests.helpers import consent_token_from, decide, upload_portrait
from tests.live import live_stream, stream_as_received

pytestmark = pytest.mark.django_db(transaction=True)

# What one refused capture may cost the server: processor time (this process and its children) and memory.
MAX_CPU_S = 2.0
MAX_MEMORY_MB = 300


def decode_bomb(*, width: int = 3840, height: int = 2160, seconds: float = 2.0, fps: int = 15) -> bytes:
    """A few tens of KB of H.264 + AAC: black 4K frames (each 25 MB decoded) and a quiet hiss, so the sound passes."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "51", "preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        sound = container.add_stream("aac", rate=16_000, layout="mono")
        black = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
        for index in range(int(seconds * fps)):
            black.pts = index
            container.mux(video.encode(black))
        container.mux(video.encode(None))
        hiss = (rng.standard_normal((1, int(seconds * 16_000))) * 0.01).astype(np.float32)
        chunk = av.AudioFrame.from_ndarray(hiss, format="flt", layout="mono")
        chunk.sample_rate, chunk.pts = 16_000, 0
        container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    return buffer.getvalue()


def _cpu_s() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _status_kb(pid: int | str, field: str) -> int | None:
    """A field of /proc/<pid>/status in kB (VmRSS, VmHWM), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
    except (OSError, StopIteration):
        return None
    return int(line.split()[1])


def _children() -> set[int]:
    """This process's children forked by its main thread (the one making the requests): one small file, so sampling
    it costs little of the processor time measured."""
    try:
        with open(f"/proc/self/task/{os.getpid()}/children") as children:
            return {int(pid) for pid in children.read().split()}
    except OSError:
        return set()


class Cost:
    """Processor time of the block (this process and its children) and the memory it added: this process's peak since
    the block began, and the anonymous memory of every child started inside it, read from /proc every 10
    milliseconds, over what this process had (a forked child starts with its parent's pages).

    The kernel's figure for children (getrusage) is the largest peak of any child ever waited for, such as an earlier
    test's Celery worker, so it cannot tell what this block's children used.
    """

    def __enter__(self) -> Cost:
        # This process's peak restarts from its current size (Linux: "5" resets VmHWM), so earlier tests' peaks don't
        # count.
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        self.cpu_before = _cpu_s()
        self.rss_before_kb = _status_kb("self", "VmRSS") or 0
        self.anonymous_before_kb = _status_kb("self", "RssAnon") or 0
        self.earlier_children = _children()
        self.children_kb = 0
        self.running = True
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self) -> None:
        while self.running:
            for pid in _children() - self.earlier_children:
                self.children_kb = max(self.children_kb, _status_kb(pid, "RssAnon") or 0)
            time.sleep(0.01)

    def __exit__(self, *_exc: object) -> None:
        self.running = False
        self.sampler.join()
        self.cpu_s = _cpu_s() - self.cpu_before
        grown_self_kb = (_status_kb("self", "VmHWM") or 0) - self.rss_before_kb
        grown_children_kb = self.children_kb - self.anonymous_before_kb
        self.memory_mb = max(grown_self_kb, grown_children_kb) / 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = decode_bomb()
    assert len(data) < 60_000
    return data


def test_a_decode_bomb_sent_as_a_consent_capture_is_refused_cheaply(api, public_api, outbox, portrait_jpeg, bomb):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)
    with Cost() as cost:
        response = decide(public_api, token, capture=bomb)
    assert (response.status_code, response.json()["error"]) == (413, "capture_too_costly"), response.json()
    assert "3840x2160" in response.json()["detail"]
    assert cost.cpu_s < MAX_CPU_S and cost.memory_mb < MAX_MEMORY_MB, (cost.cpu_s, cost.memory_mb)
    assert Consent.objects.get().failed_attempts == 0


def test_a_decode_bomb_streamed_to_the_public_registry_is_refused_cheaply(public_api, bomb):
    """The registry takes only a live capture: a two-second bomb streamed at a camera's pace ends before the prompts
    do, so it is refused before anything is decoded (the decoder's own limits: the consent test above).
    """
    started = public_api.post("/api/registry/", {"email": "someone@example.com"}, format="json").json()
    with Cost() as cost:
        response = live_stream(public_api, f"/api/registry/{started['id']}/captures/", bomb)
    assert (response.status_code, response.json()["error"]) == (403, "challenge_not_answered"), response.json()
    assert cost.cpu_s < MAX_CPU_S and cost.memory_mb < MAX_MEMORY_MB, (cost.cpu_s, cost.memory_mb)
    assert RegistryEntry.objects.get().status == "capture_pending"


def test_a_genuine_live_capture_is_checked_in_under_two_seconds_of_processor_time(same_person_photos, live_webm):
    """Everything an approval checks (pace, turns in time, lips, flash, portrait copy, digits, identity), in the
    analysis child. A loaded machine stretches processor time too (`make test` runs a second test process beside this
    one, and the analysis's thread pools then wait on a busy core: up to 3.6 s was seen there for 1.8 s on an idle
    machine), so the figure the issue asks for is kept with room here, measured by `benchmarks/capture_cost.py`; the
    detector and descriptor counts are the exact bounds.
    """
    portrait = same_person_photos[0]
    stream = stream_as_received(live_webm, capture_schedule(LIVE_SEED))
    # The models a web process loads once and its analysis children share; the portrait's descriptors, stored.
    faces.models_load()
    recognition.decoder_load()
    accept = face_match.AcceptLine(face_match.portrait_descriptors(portrait), face_match.CONSENT_ACCEPT_DISTANCE)
    with Cost() as cost:
        check = capture_check(
            capture=stream.data,
            challenge={"turns": stream.turns, "digits": stream.digits},
            english=True,
            live=stream,
            portrait=PortraitReference(image=portrait, landmarks=faces.face_single(portrait).landmarks),
            accept=accept,
        )
    assert check.liveness["passed"] and check.liveness["frames"] > 150, "an 11-second capture at 15 frames a second"
    assert len(check.frame_descriptors) == face_match.BEST_FRAMES, "the first three accept it"
    assert cost.cpu_s < 2.5 * MAX_CPU_S and cost.memory_mb < MAX_MEMORY_MB, (cost.cpu_s, cost.memory_mb)


@pytest.fixture(scope="module")
def genuine_clip(live_webm) -> liveness.Clip:
    return liveness.clip_decode(live_webm)


def test_the_face_detector_searches_one_frame_in_five_of_a_genuine_live_capture(genuine_clip):
    """The detector is most of the cost of a frame (the landmarks fitted in a known box cost a fifth of it): it searches
    every DETECT_EVERY-th frame, and any frame where tracking is in doubt (a head turning included); the face is
    tracked in between.
    """
    clip = genuine_clip
    assert len(clip.frames) > 150 and all(face is not None for face in clip.faces)
    assert clip.detections <= len(clip.frames) / 5, (clip.detections, len(clip.frames))


def test_every_search_after_the_first_scans_only_for_faces_the_tracked_ones_size(genuine_clip):
    """A search while a face is tracked skips the detector's pyramid levels that find only much narrower faces (a
    third of a whole search's cost, the same faces: tests/inference/test_face_track.py); only the first search, with
    no face tracked yet, scans them all.
    """
    assert genuine_clip.sized_searches == genuine_clip.detections - 1, genuine_clip.detections


def test_a_capture_beyond_the_cpu_limit_is_refused_as_too_costly_not_a_server_error(
    api, public_api, outbox, portrait_jpeg, astronaut, live_capture, settings
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = consent_token_from(outbox)

    def longest_answer(challenge: dict) -> bytes:
        """The most costly capture benchmarks/capture_cost.py measures (14 s at the browser's 640x480): about 1.7 s of
        processor time; the same at 320 px of another face took under 1 s on a CI machine."""
        return at_webcam_size(liveness_clip(astronaut, turns=challenge["turns"], seconds=14.0))

    settings.CANDOR_CAPTURE_CPU_S = 1
    response = decide(public_api, token, capture=longest_answer)
    assert (response.status_code, response.json()["error"]) == (413, "capture_too_costly"), response.json()
    settings.CANDOR_CAPTURE_CPU_S = 10
    assert decide(public_api, token, capture=live_capture).status_code == 200, "the refusal did not use up the link"


def test_one_address_sends_at_most_ten_captures_a_minute_through_the_api_and_the_pages(
    client, public_api, token_and_entry
):
    """Recorded files and opened live captures count together, for consent and the registry."""
    token, entry_id = token_and_entry
    for _ in range(5):
        assert decide(public_api, token, capture=None).status_code == 400
    for _ in range(3):
        assert public_api.post(f"/api/registry/{entry_id}/captures/", format="json").status_code == 201
    assert public_api.post(f"/api/consent/{token}/captures/", format="json").status_code == 201
    assert client.post(f"/consent/{token}/", {"challenge_id": "x", "decision": "approve"}).status_code == 400
    throttled = decide(public_api, token, capture=None)
    assert (throttled.status_code, throttled.json()["error"]) == (429, "throttled")
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json")
    assert (opened.status_code, opened.json()["error"]) == (429, "throttled"), "the link has two captures left"
    page = client.post(f"/consent/{token}/", {"challenge_id": "x", "decision": "approve"})
    assert page.status_code == 429 and "too many captures" in page.content.decode()
    assert public_api.get(f"/api/consent/{token}/").status_code == 200, "reading the challenge is not limited"
    other_address = APIClient(REMOTE_ADDR="10.0.0.2")
    assert decide(other_address, token, capture=None).status_code == 400
    assert other_address.post(f"/api/consent/{token}/captures/", format="json").status_code == 201


@pytest.fixture
def token_and_entry(api, public_api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    entry = public_api.post("/api/registry/", {"email": "someone@example.com"}, format="json").json()
    return consent_token_from(outbox), entry["id"]


def test_identity_frames_are_described_only_until_they_accept_the_capture(
    genuine_clip, same_person_photos, grace_hopper
):
    """Once BEST_FRAMES descriptors accept the capture, the others cannot change that, so they are not computed. Where
    they do not, every identity frame is described and decides, as without a line.
    """
    result = liveness.clip_liveness(genuine_clip, turns=[])
    identity = liveness.identity_faces(genuine_clip, result)
    assert len(identity) == liveness.IDENTITY_FRAMES
    every = identity_descriptors(genuine_clip, identity, None)
    portrait = face_match.portrait_descriptors(same_person_photos[0])
    accepted = identity_descriptors(
        genuine_clip, identity, face_match.AcceptLine(portrait, face_match.CONSENT_ACCEPT_DISTANCE)
    )
    assert len(accepted) == face_match.BEST_FRAMES
    assert np.allclose(accepted, every[: face_match.BEST_FRAMES])
    distance = face_match.capture_distance(accepted, portrait)
    assert face_match.capture_distance(every, portrait) <= distance <= face_match.CONSENT_ACCEPT_DISTANCE
    just_outside = face_match.AcceptLine(portrait, distance - 0.001)
    assert len(identity_descriptors(genuine_clip, identity, just_outside)) > face_match.BEST_FRAMES
    stranger = face_match.AcceptLine(face_match.portrait_descriptors(grace_hopper), face_match.CONSENT_ACCEPT_DISTANCE)
    assert np.allclose(identity_descriptors(genuine_clip, identity, stranger), every)


def test_a_recorded_file_is_described_only_until_it_matches_the_portrait(
    api, public_api, outbox, portrait_jpeg, live_capture, monkeypatch
):
    """The upload path compares with the portrait as the live one does: three descriptors when they accept."""
    from consent.services import decisions

    checks = []

    def kept(**arguments):
        checks.append(capture_check(**arguments))
        return checks[-1]

    monkeypatch.setattr(decisions, "capture_check", kept)
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    response = decide(public_api, consent_token_from(outbox), capture=live_capture)
    assert response.json() == {"status": "awaiting_review"}
    assert len(checks[0].frame_descriptors) == face_match.BEST_FRAMES


def test_a_face_that_changes_on_every_frame_is_refused_cheaply(api, public_api, outbox, portrait_jpeg, astronaut):
    """The person and their mirror image in turn: tracking cannot carry the face from one frame to the next, so each
    frame would be searched (2.7 s of processor time for 14 s before the search limit); the reading stops once the
    searches allowed are spent (liveness.SEARCH_LIMITS). Not a failed attempt: a cost refusal, like the decode bomb's.
    """
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    capture = mirrored_face_clip(astronaut)
    faces.models_load()  # as a web process has them after its first capture
    with Cost() as cost:
        response = decide(public_api, consent_token_from(outbox), capture=capture)
    assert (response.status_code, response.json()["error"]) == (413, "capture_too_costly"), response.json()
    assert "could not be followed" in response.json()["detail"]
    assert cost.cpu_s < MAX_CPU_S and cost.memory_mb < MAX_MEMORY_MB, (cost.cpu_s, cost.memory_mb)
    assert Consent.objects.get().failed_attempts == 0


def test_black_frames_small_enough_to_be_searched_at_twice_their_size_are_refused_cheaply(
    api, public_api, outbox, portrait_jpeg
):
    """Below 480 px a frame without a face is searched again at twice its size (four times the cost): 14 s of black
    470 px frames had every frame searched so, about 5 s of processor time. While no face is found only every
    eighth frame is searched, and the reading stops once too many frames showed none.
    """
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    capture = decode_bomb(width=470, height=470, seconds=14)
    faces.models_load()
    with Cost() as cost:
        response = decide(public_api, consent_token_from(outbox), capture=capture)
    assert (response.status_code, response.json()["error"]) == (403, "liveness_no_face"), response.json()
    assert cost.cpu_s < MAX_CPU_S and cost.memory_mb < MAX_MEMORY_MB, (cost.cpu_s, cost.memory_mb)


def test_the_browsers_640x480_is_analysed_at_480x360_with_its_face_found(same_person_photos, tmp_path):
    """At 640 px a 14 s face-filled capture cost about a quarter more processor time and held twice the memory in
    frames (benchmarks/capture_cost.py --full); the face at arm's length is still over 100 px at 480."""
    from inference import media
    from tests.web.fake_camera import camera_framing

    framed = camera_framing(same_person_photos[1])
    assert framed.shape == (480, 640, 3)
    path = tmp_path / "webcam.mp4"
    hiss = np.random.default_rng(0).standard_normal(2 * media.AUDIO_SAMPLE_RATE).astype(np.float32) * 0.1
    media.mp4_write(path, [framed] * 30, hiss, media.AUDIO_SAMPLE_RATE, fps=15, crf=23)
    clip = liveness.clip_decode(path.read_bytes())
    assert {frame.shape for frame in clip.frames} == {(360, 480, 3)}
    assert all(face is not None and face.box[2] > 100 for face in clip.faces)
