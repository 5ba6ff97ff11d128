"""A real headless Chromium (Debian's chromium + chromium-driver) driven by Selenium against pytest-django's live
server.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_MISSING = (
    "BROWSER TESTS (tests/web/test_browser.py) SKIPPED: /usr/bin/chromium or /usr/bin/chromedriver is missing; "
    "install the Debian packages chromium and chromium-driver to run them"
)
# Outside the per-run data directory, so that the latest screenshots are always in one place to look at.
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
DESKTOP = (1280, 900)
PHONE = (390, 844)


def browser_available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@pytest.fixture(scope="session")
def plain_mp4(tmp_path_factory) -> Path:
    """A video Candor never made: one second of noise with a silent track."""
    import numpy as np

    from inference import media

    path = tmp_path_factory.mktemp("clips") / "holiday.mp4"
    rng = np.random.default_rng(3)
    frames = (rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(25))
    media.mp4_write(path, frames, np.zeros(16_000, np.float32), 16_000, fps=25)
    return path


@contextmanager
def chromium_driver(*extra_flags: str):
    """A Selenium driver of a fresh headless Chromium with its own profile, given extra command-line flags."""
    if not browser_available():
        pytest.skip(BROWSER_MISSING)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="candor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # The network is closed and the machine has no display: no updates, no sync, no GPU, no sandbox for root.
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={profile}",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        *extra_flags,
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def chromium():
    with chromium_driver() as driver:
        yield driver


class Browser:
    """The driver plus the few steps every browser test takes: open a page, log in, check the console, take a
    screenshot.
    """

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def open(self, path: str):
        self.driver.get(self.base_url + path)
        return self.driver

    def login_as(self, user) -> None:
        """Log in by session cookie (the login form itself has its own test)."""
        from django.test import Client

        client = Client()
        client.force_login(user)
        self.open("/how-candor-works/")
        self.driver.add_cookie(
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "path": "/",
            }
        )

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def assert_clean_console(self) -> None:
        errors = self.console_errors()
        assert not errors, f"JavaScript console errors on {self.driver.current_url}: {errors}"

    def screenshot(self, name: str, *, size=DESKTOP) -> Path:
        """A full-page PNG at this viewport size (a phone size is emulated as a touch screen)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600}
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "height": max(size[1], min(height, 4000))}
        )
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path

    def wait_for(self, condition, timeout: float = 20):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)


@pytest.fixture
def browser(chromium, live_server, settings):
    # The live server speaks plain HTTP; secure-only cookies would never come back to it.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    chromium.delete_all_cookies()
    chromium.set_window_size(*DESKTOP)
    chromium.get_log("browser")
    yield Browser(chromium, live_server.url)
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    chromium.get("about:blank")
    chromium.delete_all_cookies()


@pytest.fixture
def page(client, creator):
    """Django's test client logged in as the creator."""
    client.force_login(creator)
    return client


@pytest.fixture
def camera(tmp_path):
    """The files Chromium's fake camera and microphone play (written by tests/web/fake_camera.py)."""
    from .fake_camera import FakeCamera

    return FakeCamera(video=tmp_path / "camera.y4m", audio=tmp_path / "microphone.wav")


@pytest.fixture
def schedule() -> list[dict]:
    """The prompts every live capture gets (tests/conftest.py fixes the seed), each with the second it is due."""
    from consent.services.live import capture_schedule
    from tests.conftest import LIVE_SEED

    return capture_schedule(LIVE_SEED)


@pytest.fixture(scope="session")
def webcam_person() -> np.ndarray:
    """The portrait's (obama.jpg's) person as their fake camera films them: obama3.jpg (RGB), another photo of them,
    facing the camera as someone does their screen.

    Not obama2.jpg (the server-side clips' person): his head is turned about 20 degrees, and the synthetic turn to his
    left (tests/clips.py head_turned) then read at the yaw line in a browser's capture (1.0-1.1 of it through VP8 at
    480 px), so Chromium's own encoding under load decided whether the turn was seen; obama3.jpg's turns read 1.5-2.2.
    """
    from tests.conftest import photos_read

    return photos_read("obama3.jpg")[0]


@pytest.fixture
def filmed(camera, live_server, settings):
    """A Chromium of its own whose camera and microphone are the fake camera's files, granted without a prompt."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    with chromium_driver(*camera.flags) as driver:
        yield Browser(driver, live_server.url)


AXE_FOLDER = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
NPM_SKIP_REASON = (
    "ACCESSIBILITY AUDITS (tests/web/) SKIPPED: npm is not installed, so axe-core cannot be installed: "
    "install Node.js and npm (apt-get install nodejs npm; make system-deps does) to run it"
)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, installed from npm at the version package-lock.json pins into tests/web/axe/node_modules/
    (git-ignored) on first use; without npm the audits skip and say why.
    """
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(NPM_SKIP_REASON)
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=AXE_FOLDER,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, f"npm ci in {AXE_FOLDER} failed:\n{installed.stderr[:2000]}"
    return AXE_SCRIPT.read_text()
