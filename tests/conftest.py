"""Shared fixtures: real photos shipped by installed packages, creators with API tokens, the email outbox."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings

from inference import media


def pytest_sessionfinish(session, exitstatus):
    # The run's own data directory (see studio/settings_test.py) is kept only when something failed.
    if exitstatus == 0 and Path(settings.DATA_DIR).parent.name == "test-runs":
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


def _jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    return media.image_encode_jpeg(image, quality=quality)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def photos_read(*names: str) -> list[np.ndarray]:
    """The photos of var/test-photos/ with these file names, RGB; the test fails, saying how to fetch them, if any is
    missing."""
    from tests.photos_fetch import PHOTOS_DIR

    paths = [PHOTOS_DIR / name for name in names]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        pytest.fail(f"missing test photos {', '.join(missing)}: run `make test-photos` (or `make test`) first")
    return [cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB) for path in paths]


@pytest.fixture(scope="session")
def same_person_photos() -> tuple[np.ndarray, np.ndarray]:
    """Two different photos (RGB) of one person: face_recognition's obama.jpg and obama2.jpg, from var/test-photos/."""
    first, second = photos_read("obama.jpg", "obama2.jpg")
    return first, second


@pytest.fixture(scope="session")
def portrait_jpeg(astronaut) -> bytes:
    return _jpeg(astronaut)


@pytest.fixture(scope="session")
def capture_jpeg(astronaut) -> bytes:
    """A 'selfie' of the same person: the photo rotated, scaled, cropped and recompressed."""
    matrix = cv2.getRotationMatrix2D((256, 256), 4, 1.1)
    changed = cv2.warpAffine(astronaut, matrix, (512, 512), borderMode=cv2.BORDER_REFLECT)[30:480, 20:490]
    return _jpeg(np.ascontiguousarray(changed), quality=70)


@pytest.fixture(scope="session")
def live_capture(astronaut):
    """challenge -> MP4 bytes of the portrait's person answering it live (head turns, lips moving with the digits read
    aloud).
    """
    from tests.clips import LiveClips

    return LiveClips(astronaut)


@pytest.fixture(scope="session")
def other_person_live_capture(grace_hopper):
    """challenge -> a live answer by someone else (Grace Hopper)."""
    from tests.clips import LiveClips

    return LiveClips(grace_hopper)


# The schedule every live capture in the tests follows (unless a test asks for random ones): the prepared clips below
# answer it.
LIVE_SEED = 7
# The challenge every recorded file answers (right, up; digits 1 4 1). With random challenges some clips of the
# synthetic stand-in landed near the lip-sync line (about 1 in 50 below it), so a test could pass or fail by chance;
# the lines themselves are tested from both sides with clips made for the purpose.
FILE_CHALLENGE_SEED = 1


@pytest.fixture(autouse=True)
def capture_schedule_fixed(settings):
    settings.CANDOR_CAPTURE_SCHEDULE_SEED = LIVE_SEED
    settings.CANDOR_CHALLENGE_SEED = FILE_CHALLENGE_SEED


@pytest.fixture(scope="session")
def subject_jpeg(same_person_photos) -> bytes:
    """The portrait of a person whose live capture the tests can make from another photo: obama.jpg."""
    return _jpeg(same_person_photos[0])


@pytest.fixture(scope="session")
def live_webm(same_person_photos) -> bytes:
    """WebM (as a browser records it) of subject_jpeg's person answering the fixed live schedule (turns, the flash on
    the skin, digits), made from another photo of them (obama2.jpg): a camera sees other pixels than the portrait's.
    """
    from consent.services.live import capture_schedule
    from tests.live import scheduled_clip

    return scheduled_clip(same_person_photos[1], capture_schedule(LIVE_SEED))


@pytest.fixture(scope="session")
def other_person_live_webm(grace_hopper) -> bytes:
    """Someone else (Grace Hopper) answering the fixed live schedule."""
    from consent.services.live import capture_schedule
    from tests.live import scheduled_clip

    return scheduled_clip(grace_hopper, capture_schedule(LIVE_SEED))


@pytest.fixture(scope="session")
def other_person_jpeg(grace_hopper) -> bytes:
    return _jpeg(grace_hopper)


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    import skimage.data

    return _jpeg(skimage.data.coffee())


@pytest.fixture
def creator(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="ada", email="ada@example.com", password="x-secret-1")


@pytest.fixture
def other_creator(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="bob", email="bob@example.com", password="x-secret-2")


def _client_for(user):
    from rest_framework.test import APIClient

    from studio.accounts import creator_token_rotate

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {creator_token_rotate(user=user)}")
    return client


@pytest.fixture
def api(creator):
    return _client_for(creator)


@pytest.fixture
def other_api(other_creator):
    return _client_for(other_creator)


@pytest.fixture
def public_api():
    from rest_framework.test import APIClient

    return APIClient()


class Outbox:
    """Reads the emails Django's file backend wrote into <CANDOR_DATA_DIR>/mail/."""

    def __init__(self, folder: Path):
        self.folder = folder

    def messages(self) -> list[str]:
        if not self.folder.exists():
            return []
        return [path.read_text() for path in sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime)]

    def links(self, pattern: str) -> list[str]:
        return [match for message in self.messages() for match in re.findall(pattern, message)]


@pytest.fixture(autouse=True)
def file_email_backend(settings):
    """Django's test runner swaps in an in-memory mailbox; Candor's embedded mode writes real files."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


@pytest.fixture
def outbox(transactional_db) -> Outbox:
    """Emails are sent once the transaction commits, so tests that read them run with real commits."""

    folder = Path(settings.EMAIL_FILE_PATH)
    shutil.rmtree(folder, ignore_errors=True)
    return Outbox(folder)


@pytest.fixture
def celery_worker(transactional_db):
    """Real Celery workers (`celery -A config worker`) on the test database and the configured broker.

    One by default; CANDOR_TEST_WORKERS=2 (set by `make test-production`) runs two, as production does.
    """
    import os

    from tests.production.workers import Workers

    with Workers(count=int(os.environ.get("CANDOR_TEST_WORKERS", "1"))) as workers:
        yield workers


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say loudly which test groups did not run, and why (a missing service or browser)."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("SKIPPED TEST GROUPS: these did not run", sep="!", red=True, bold=True)
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"  {count:4d} skipped: {reason}", red=True, bold=True)


@pytest.fixture(autouse=True)
def throttle_counters_cleared():
    """Rate limits count per client address in the cache; every test starts with fresh counters."""
    from django.core.cache import cache

    cache.clear()
