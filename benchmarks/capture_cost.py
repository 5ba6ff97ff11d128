"""What one live capture costs the server to check: processor time (the web process and the analysis child) and peak
memory, for a genuine answer and for files built to be expensive.

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python -m benchmarks.capture_cost [--full]

The genuine live capture is the portrait's person (var/test-photos/obama2.jpg, `make test-photos`) answering the tests'
fixed schedule through the live protocol (tests/live.py), checked against the portrait obama.jpg with the English digits
and the portrait's accept line (its identity frames described until they match it): everything a real approval checks.
--full adds the same person answering the longest of 2,000 drawn live schedules, both genuine captures again at the
browser's 640x480, the longest and largest videos the limits accept (15 s at 1080p and 60 fps), a 14 s answer at
640x480, black frames just small enough to be searched again at twice their size, and a face that the tracking cannot
follow (mirrored every other frame, so every frame is searched) at 320 and 640 px. --searches prints instead what
the genuine capture's tracking searches cost, each frame searched whole and sized (inference.faces.faces_detect_sized)
in turn, so that a machine's load weighs on both alike. --descriptors prints what describing the genuine capture's
identity faces costs with dlib's own run of its network and with onnxruntime (inference.descriptor_net).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection

import django


def _cpu_s() -> float:
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


def _measure(capture: bytes, check: dict, sender: Connection) -> None:
    """One capture checked in a fresh process, so that its peak memory is its own; `check`: capture_check's other
    arguments.
    """
    from consent.services.capture import capture_check
    from core.errors import ApplicationError

    cpu, wall, rss = _cpu_s(), time.monotonic(), _rss_mb()
    try:
        capture_check(capture=capture, **check)
        outcome = "passed"
    except ApplicationError as refusal:
        outcome = refusal.code
    # The analysis child's peak, less what it shares with this process (it starts as a copy of it).
    peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 - rss, 0)
    sender.send(
        f"{len(capture) / 1024:6.0f} {_cpu_s() - cpu:6.2f} {time.monotonic() - wall:6.2f} {peak:6.0f}  {outcome}"
    )


def webcam_frames(frames: list) -> list:
    """Frames of tests/clips.py's 320 px selfie framing scaled up and framed as the browser's 640x480 camera sees them
    (tests/web/fake_camera.py).
    """
    from tests.web.fake_camera import webcam_framed

    return [webcam_framed(frame) for frame in frames]


def at_webcam_size(clip: bytes) -> bytes:
    """The clip (tests/clips.py's 320 px selfie framing) at the browser's 640x480 (webcam_frames), same sound."""
    import tempfile
    from pathlib import Path

    from inference import media

    with tempfile.TemporaryDirectory() as folder:
        source, framed = Path(folder) / "source.mp4", Path(folder) / "framed.mp4"
        source.write_bytes(clip)
        frames = webcam_frames(list(media.video_frames(source)))
        media.mp4_write(framed, frames, media.audio_decode(source), media.AUDIO_SAMPLE_RATE, fps=15, crf=23)
        return framed.read_bytes()


def _searches_cost(capture: bytes, rounds: int = 5) -> None:
    """The processor time of the frames the tracking searched, each searched whole and sized in turn."""
    from consent import liveness
    from inference import faces

    clip = liveness.clip_decode(capture)
    whole = sized = 0.0
    for _ in range(rounds):
        for index in sorted(clip.searched):
            frame, width = clip.frames[index], clip.faces[index].box[2]
            started = _cpu_s()
            faces.faces_detect(frame, upsample=0)
            whole += _cpu_s() - started
            started = _cpu_s()
            faces.faces_detect_sized(frame, min_width=faces.SIZED_SEARCH_SHARE * width)
            sized += _cpu_s() - started
    searches = rounds * len(clip.searched)
    print(
        f"{len(clip.frames)} frames, {clip.detections} searches ({clip.sized_searches} sized), {rounds} rounds: "
        f"{1000 * whole / searches:.1f} ms a whole search, {1000 * sized / searches:.1f} ms a sized one"
    )


def _descriptors_cost(capture: bytes, rounds: int = 5) -> None:
    """The processor time of the genuine capture's five identity faces described by dlib's own run of its network
    and by onnxruntime (inference.descriptor_net, what the analysis uses), in one batch each, and how far apart the
    two descriptors of each face are.
    """
    import dlib
    import numpy as np

    from consent import liveness
    from inference import descriptor_net, faces

    clip = liveness.clip_decode(capture)
    identity = liveness.identity_faces(clip, liveness.clip_liveness(clip, turns=[]))
    chips = faces.face_chips([(clip.frames[index], face) for index, face in identity])
    dlib_model = dlib.face_recognition_model_v1(str(faces.model_path(descriptor_net.MODEL_FILENAME)))
    session = faces._descriptor_model()
    spent = {"dlib": 0.0, "onnxruntime": 0.0}
    for _ in range(rounds):
        started = _cpu_s()
        by_dlib = np.array(dlib_model.compute_face_descriptor(chips))
        spent["dlib"] += _cpu_s() - started
        started = _cpu_s()
        by_onnx = descriptor_net.descriptors(chips, session)
        spent["onnxruntime"] += _cpu_s() - started
    faces_described = rounds * len(chips)
    print(
        f"{len(chips)} identity faces, {rounds} rounds: "
        + ", ".join(f"{1000 * cpu / faces_described:.1f} ms a face by {name}" for name, cpu in spent.items())
        + f"; the two descriptors of a face at most {np.linalg.norm(by_dlib - by_onnx, axis=1).max():.1e} apart"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also the largest videos the limits accept")
    parser.add_argument("--searches", action="store_true", help="only the genuine capture's searches, whole vs sized")
    parser.add_argument(
        "--descriptors", action="store_true", help="only the genuine capture's identity faces, dlib vs onnxruntime"
    )
    arguments = parser.parse_args()
    django.setup()

    import cv2
    from skimage import data

    from consent import face_match
    from consent.services.capture import PortraitReference
    from consent.services.live import capture_schedule
    from inference import faces, recognition
    from tests.clips import as_browser_webm, liveness_clip, mirrored_face_clip
    from tests.conftest import LIVE_SEED
    from tests.consent.test_capture_cost import decode_bomb
    from tests.live import SLICE_S, scheduled_clip, stream_as_received
    from tests.photos_fetch import PHOTOS_DIR

    photo = data.astronaut()
    # What a web process holds once it has checked a capture (models the analysis children share).
    faces.models_load()
    recognition.decoder_load()
    turns = {"challenge": {"turns": ["left", "up"]}}
    portrait, person = (
        cv2.cvtColor(cv2.imread(str(PHOTOS_DIR / name)), cv2.COLOR_BGR2RGB) for name in ("obama.jpg", "obama2.jpg")
    )
    reference = PortraitReference(image=portrait, landmarks=faces.face_single(portrait).landmarks)
    accept = face_match.AcceptLine(face_match.portrait_descriptors(portrait), face_match.CONSENT_ACCEPT_DISTANCE)

    def genuine_check(schedule: list[dict], *, webcam: bool = False) -> tuple[bytes, dict]:
        """The person answering `schedule` in the tests' 320 px framing, or (webcam) at the browser's 640x480."""
        clip = scheduled_clip(person, schedule, transform=webcam_frames if webcam else None)
        stream = stream_as_received(clip, schedule)
        check = {
            "challenge": {"turns": stream.turns, "digits": stream.digits},
            "english": True,
            "live": stream,
            "portrait": reference,
            "accept": accept,
        }
        return stream.data, check

    def media_s(check: dict) -> float:
        return check["live"].arrivals[-1][1] + SLICE_S

    genuine = genuine_check(capture_schedule(LIVE_SEED))
    if arguments.searches:
        _searches_cost(genuine[0])
        return
    if arguments.descriptors:
        _descriptors_cost(genuine[0])
        return
    live = liveness_clip(photo, turns=turns["challenge"]["turns"])
    cases = {
        f"genuine live capture, {media_s(genuine[1]):.1f} s WebM": genuine,
        "live answer, 3.4 s 320 px MP4": (live, turns),
        "live answer as a browser's WebM": (as_browser_webm(live), turns),
        "decode bomb: 2 s of black 4K": (decode_bomb(), turns),
        "black 1080p, 14 s at 30 fps, hiss": (decode_bomb(width=1920, height=1080, seconds=14, fps=30), turns),
    }
    if arguments.full:
        # The live schedule's prompts come at random moments within ranges: its longest capture, of many drawn.
        longest = max((capture_schedule(seed) for seed in range(2_000)), key=lambda schedule: schedule[-1]["due_s"])
        slowest = genuine_check(longest)
        cases[f"genuine live capture, {media_s(slowest[1]):.1f} s WebM"] = slowest
        for schedule in (capture_schedule(LIVE_SEED), longest):
            at_640 = genuine_check(schedule, webcam=True)
            cases[f"the same, {media_s(at_640[1]):.1f} s at 640x480"] = at_640
        cases["black 1080p, 14 s at 60 fps, hiss"] = (
            decode_bomb(width=1920, height=1080, seconds=14, fps=60),
            turns,
        )
        longest_answer = liveness_clip(photo, seconds=14.0, **turns["challenge"])
        cases["live answer, 14 s 320 px"] = (longest_answer, turns)
        cases["live answer, 14 s 640x480"] = (at_webcam_size(longest_answer), turns)
        cases["black 470 px, 14 s, hiss"] = (decode_bomb(width=470, height=470, seconds=14), turns)
        for side in (320, 640):
            cases[f"face mirrored each frame, 14 s {side} px"] = (mirrored_face_clip(photo, side=side), turns)
    print(f"{'capture':40} {'KB':>6} {'CPU s':>6} {'wall s':>6} {'+MB':>6}  outcome")
    context = multiprocessing.get_context("fork")
    for name, (capture, check) in cases.items():
        receiver, sender = context.Pipe(duplex=False)
        measuring = context.Process(target=_measure, args=(capture, check, sender))
        measuring.start()
        print(f"{name:40} {receiver.recv()}", flush=True)
        measuring.join()


if __name__ == "__main__":
    main()
