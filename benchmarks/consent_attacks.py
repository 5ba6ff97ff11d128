"""Red-team benchmark of the consent capture: for each attack class, how many tries pass, and for genuine stand-ins,
how many pass, all through the live capture protocol of the real server code (Django's request stack, the database,
the analysis child under its limits), with random schedules.

    DJANGO_SETTINGS_MODULE=config.settings_test .venv/bin/python -m benchmarks.consent_attacks [--tries N]
        [--classes NAME,...] [--flash-strength S]

The server's clock is set to each chunk's arrival (a camera streaming at its pace, or faster, or a replay), so a try
costs the time to make its clip and analyse it, not the seconds it lasts. Attacks get the attacker's best case: a
clip made from the portrait answers the very schedule it is asked (a real-time rig that sees every prompt), with the
flash painted on the face; only the checks that do not depend on timing can stop it. Genuine stand-ins are clips of
ANOTHER photo of the portrait's person, answering their schedule 0.4-1.0 s after each prompt, lit by the flash at
--flash-strength of the room's light. Photos: face_recognition's obama.jpg (portrait) and obama2.jpg (the person
"live"), from var/test-photos/ (`make test-photos`); Grace Hopper (matplotlib) is "another person".
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import django
import numpy as np

# What each class's clip is made of and how it is sent: (make(photos, schedule, other_schedule, rng) -> (webm, how)).
ATTACK_CLASSES = [
    "2-D warp of the portrait",
    "2-D warp, noise 4/255 + blur 1.5 px",
    "2-D warp, colour shift + relight",
    "depth warp of the portrait",
    "depth warp, noise 4/255 + blur 1.5 px",
    "depth warp, H.264 crf 35 re-encode",
    "engine-animated portrait",
    "engine-animated, noise 4/255 + blur 1.5 px",
    "prerecorded file streamed at real-time pace",
    "file streamed 1.5x faster than real time",
    "accepted capture replayed on another link",
    "accepted capture replayed on the registry",
    "still photo",
    "frozen clip",
    "another person",
]
GENUINE = "genuine stand-in (another photo of the person)"


@dataclass(frozen=True)
class Photos:
    portrait: np.ndarray  # what the creator uploads
    person: np.ndarray  # another photo of the same person: what their camera sees
    other: np.ndarray  # someone else


@dataclass
class Tally:
    tries: int = 0
    passes: int = 0
    refusals: dict | None = None

    def add(self, passed: bool, code: str) -> None:
        self.tries += 1
        self.passes += int(passed)
        self.refusals = self.refusals or {}
        if not passed:
            self.refusals[code] = self.refusals.get(code, 0) + 1


class Server:
    """The real server code in this process: a creator asks for consent, the person's side streams a capture."""

    def __init__(self) -> None:
        from rest_framework.test import APIClient

        self.client = APIClient()
        self.count = 0

    def consent_link(self, portrait_jpeg: bytes) -> str:
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile

        from consent.services import consent_request_create
        from studio.services import portrait_create

        self.count += 1
        # A creator and an address of its own each try: the per-creator and per-address limits are not what is tested.
        owner = get_user_model().objects.create_user(f"attacker{self.count}", password="x" * 16)
        portrait = portrait_create(
            owner=owner,
            image=SimpleUploadedFile("portrait.jpg", portrait_jpeg, content_type="image/jpeg"),
            subject_name="Barack Obama",
            subject_email=f"person{self.count}@example.com",
        )
        return consent_request_create(portrait=portrait, requested_by=owner, languages=["en"]).token

    def registry_entry(self) -> str:
        self.count += 1
        answer = self.client.post("/api/registry/", {"email": f"reg{self.count}@example.com"}, format="json")
        return answer.json()["id"]

    def open(self, captures_url: str) -> tuple[dict, list[dict]]:
        """Open a capture; the schedule it will follow (read from the database: the attacker's best case)."""
        from consent.models import LiveCapture

        opened = self.client.post(captures_url, format="json").json()
        return opened, LiveCapture.objects.get(id=opened["id"]).schedule

    def stream(self, opened: dict, webm: bytes, *, speed: float = 1.0) -> tuple[bool, str]:
        """Stream the clip at `speed` times its pace and finish: (approved, refusal code or status)."""
        from tests.live import opened_stream

        answer = opened_stream(self.client, opened, webm, speed=speed, finish={"full_name": "Barack Obama"})
        body = answer.json()
        return answer.status_code == 200, body.get("error") or body.get("status", "")


def _jpeg(image: np.ndarray) -> bytes:
    from inference import media

    return media.image_encode_jpeg(image)


def _degraded(frames: list[np.ndarray]) -> list[np.ndarray]:
    from tests import attacks

    return attacks.noised(attacks.blurred(frames, sigma=1.5), sigma=4 / 255)


def _reencoded(frames: list[np.ndarray]) -> list[np.ndarray]:
    from tests import attacks

    return attacks.reencode_h264(frames, crf=35)


def _recoloured(frames: list[np.ndarray]) -> list[np.ndarray]:
    from tests import attacks

    return attacks.relit(attacks.colour_shifted(frames))


def _depth_frames(photo: np.ndarray) -> list[np.ndarray]:
    """The photo lifted onto a face-shaped relief and swayed there and back (yaw up to 4 degrees, pitch up to 2, below
    a turn), to be posed further: the depth-warp rig's head, on which the prompts' turns and the mouth are made.
    """
    from tests import attacks

    sweep = attacks.warp_depth(photo, n_frames=16, max_yaw_deg=4.0, max_pitch_deg=2.0)
    return sweep + sweep[::-1]


def _engine_frames(photo: np.ndarray) -> list[np.ndarray]:
    """The engine's animation of the photo at the selfie crop's size (it renders larger), to be posed further."""
    import cv2

    from tests import attacks, clips

    side = clips.face_crop(photo).shape[0]
    return [cv2.resize(frame, (side, side), interpolation=cv2.INTER_AREA) for frame in attacks.engine_animated(photo)]


def attack_try(
    name: str, server: Server, photos: Photos, rng: random.Random, flash_strength: float
) -> tuple[bool, str]:
    """One try of an attack class (or of the genuine stand-in) against a fresh consent link: (passed, outcome)."""
    from consent.services.live import capture_schedule
    from tests.live import scheduled_clip

    portrait_jpeg = _jpeg(photos.portrait)
    token = server.consent_link(portrait_jpeg)
    captures_url = f"/api/consent/{token}/captures/"
    if name == "accepted capture replayed on the registry":
        captures_url = f"/api/registry/{server.registry_entry()}/captures/"
    opened, schedule = server.open(captures_url)
    reaction = rng.uniform(0.4, 1.0)
    seen = {"flash_strength": flash_strength, "reaction_s": reaction}
    clip_of: dict[str, Callable[[], bytes]] = {
        GENUINE: lambda: scheduled_clip(photos.person, schedule, **seen),
        "2-D warp of the portrait": lambda: scheduled_clip(photos.portrait, schedule, **seen),
        "2-D warp, noise 4/255 + blur 1.5 px": lambda: scheduled_clip(
            photos.portrait, schedule, transform=_degraded, **seen
        ),
        "2-D warp, colour shift + relight": lambda: scheduled_clip(
            photos.portrait, schedule, transform=_recoloured, **seen
        ),
        "depth warp of the portrait": lambda: scheduled_clip(
            photos.portrait, schedule, base_frames=_depth_frames(photos.portrait), **seen
        ),
        "depth warp, noise 4/255 + blur 1.5 px": lambda: scheduled_clip(
            photos.portrait, schedule, base_frames=_depth_frames(photos.portrait), transform=_degraded, **seen
        ),
        "depth warp, H.264 crf 35 re-encode": lambda: scheduled_clip(
            photos.portrait, schedule, base_frames=_depth_frames(photos.portrait), transform=_reencoded, **seen
        ),
        "engine-animated portrait": lambda: scheduled_clip(
            photos.portrait, schedule, base_frames=_engine_frames(photos.portrait), **seen
        ),
        "engine-animated, noise 4/255 + blur 1.5 px": lambda: scheduled_clip(
            photos.portrait, schedule, base_frames=_engine_frames(photos.portrait), transform=_degraded, **seen
        ),
        # Made beforehand for a schedule of its own: a genuine-looking recording, just not of this schedule.
        "prerecorded file streamed at real-time pace": lambda: scheduled_clip(
            photos.person, capture_schedule(rng.randrange(1 << 30)), **seen
        ),
        "file streamed 1.5x faster than real time": lambda: scheduled_clip(photos.person, schedule, tail_s=6.0, **seen),
        "accepted capture replayed on another link": lambda: scheduled_clip(
            photos.person, capture_schedule(rng.randrange(1 << 30)), **seen
        ),
        "accepted capture replayed on the registry": lambda: scheduled_clip(
            photos.person, capture_schedule(rng.randrange(1 << 30)), **seen
        ),
        "still photo": lambda: scheduled_clip(
            photos.portrait, schedule, turns=[], flash_strength=None, base_frames=None, reaction_s=reaction
        ),
        "frozen clip": lambda: _frozen(scheduled_clip(photos.person, schedule, **seen)),
        "another person": lambda: scheduled_clip(photos.other, schedule, **seen),
    }
    webm = clip_of[name]()
    speed = 1.5 if name.startswith("file streamed") else 1.0
    return server.stream(opened, webm, speed=speed)


def _frozen(webm: bytes) -> bytes:
    """The clip's first frame held for its whole length, with its sound: a frozen picture."""
    import tempfile
    from pathlib import Path

    from inference import media

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "clip.webm"
        source.write_bytes(webm)
        frames = list(media.video_frames(source))
        audio = media.audio_decode(source)
        frozen = Path(folder) / "frozen.mp4"
        media.mp4_write(frozen, [frames[0]] * len(frames), audio, media.AUDIO_SAMPLE_RATE, fps=15, crf=20)
        from tests.clips import as_browser_webm

        return as_browser_webm(frozen.read_bytes())


def photos_load() -> Photos:
    import cv2
    import matplotlib.cbook

    from tests.photos_fetch import PHOTOS_DIR

    def rgb(path) -> np.ndarray:
        image = cv2.imread(str(path))
        if image is None:
            sys.exit(f"missing {path}: run `make test-photos` first")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    return Photos(
        portrait=rgb(PHOTOS_DIR / "obama.jpg"),
        person=rgb(PHOTOS_DIR / "obama2.jpg"),
        other=rgb(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
    )


def run(
    classes: list[str],
    *,
    tries: int,
    flash_strength: float,
    seed: int = 0,
    schedule_seed: int | None = None,
    report=print,
) -> dict[str, Tally]:
    """Every class `tries` times against the server in this process (its database must exist).

    schedule_seed: one fixed schedule for every capture (the test suite's smoke run); None, random ones as in
    production.
    """
    from django.test import override_settings

    server = Server()
    photos = photos_load()
    rng = random.Random(seed)
    tallies = {name: Tally() for name in classes}
    with override_settings(
        CANDOR_CAPTURE_SCHEDULE_SEED=schedule_seed, CANDOR_CONSENT_REVIEW="off", CANDOR_CAPTURE_RATE="100000/minute"
    ):
        for name in classes:
            for _ in range(tries):
                passed, outcome = attack_try(name, server, photos, rng, flash_strength)
                tallies[name].add(passed, outcome)
            report(_row(name, tallies[name]))
    return tallies


def _row(name: str, tally: Tally) -> str:
    refusals = ", ".join(f"{code} {count}" for code, count in sorted((tally.refusals or {}).items()))
    return f"| {name} | {tally.tries} | {tally.passes} | {refusals} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=3, help="tries per class (default 3)")
    parser.add_argument("--classes", default="", help="comma-separated class names (default: all)")
    parser.add_argument("--flash-strength", type=float, default=0.05, help="the flash's light on the genuine face")
    arguments = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    django.setup()
    from django.core.management import call_command

    from benchmarks.machine import machine_describe
    from inference import faces

    call_command("migrate", verbosity=0)
    # Every refusal is a 403 the request logger would print.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    faces.models_load()
    names = [*ATTACK_CLASSES, GENUINE]
    if arguments.classes:
        names = [name for name in names if any(part.strip() in name for part in arguments.classes.split(","))]
    print(f"machine: {machine_describe()}")
    print(f"tries per class: {arguments.tries}; flash strength of the genuine stand-ins: {arguments.flash_strength}")
    print("| class | tries | passed | refusals |\n|---|---|---|---|")
    started = time.monotonic()
    run(names, tries=arguments.tries, flash_strength=arguments.flash_strength)
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
