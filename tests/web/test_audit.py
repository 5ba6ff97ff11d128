"""Every page of the web product in a real Chromium at a desktop (1366x900) and a phone (390x844) size: a screenshot
of each under var/screenshots/, no page wider than the phone's screen, and axe-core's accessibility audit with no
serious or critical violation.

axe-core comes from the `axe_source` fixture (tests/web/conftest.py); the script is injected into each page as it is
served.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from studio.models import Render
from studio.services import render_run
from studio.sharing import share_link_create
from tests.helpers import consent_token_from, upload_portrait

from .approval import consent_approved
from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT_DESKTOP = (1366, 900)
BLOCKING_IMPACTS = ("serious", "critical")
# Visible elements that reach past the viewport's right edge, even inside a scrolling box (a table in a sideways-
# scrolling wrapper leaves the page narrow but still makes the reader scroll).
STICKING_OUT = """
const width = window.innerWidth;
return [...document.body.querySelectorAll("*")]
  .filter(element => {
    const box = element.getBoundingClientRect();
    // Boxes of a pixel or less are the visually-hidden texts for screen readers.
    return box.width > 1 && box.height > 1 && box.right > width + 1 && element.checkVisibility();
  })
  .slice(0, 4)
  .map(element => {
    const classes = String(element.className || "").trim().split(/\\s+/).filter(Boolean);
    const right = Math.round(element.getBoundingClientRect().right);
    return [element.tagName.toLowerCase(), ...classes].join(".") + " to " + right + " px";
  });
"""
# The violations axe reports, with the first few elements of each, as plain data the assertion message can show.
AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then(result => done(result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(node => node.target.join(" ") + ": " + node.failureSummary)}))))
  .catch(error => done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
"""


@dataclass(frozen=True)
class Site:
    """What the creator's pages show: a portrait with active consent and one finished video, shared; and a second
    portrait whose consent request waits on its link."""

    portrait_id: str
    render: Render
    share_token: str
    consent_token: str


@pytest.fixture
def site(creator, api, outbox, portrait_jpeg) -> Site:
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    made = api.post(
        "/api/renders/", {"portrait": portrait_id, "purpose": "marketing", "text": "Hello there.", "language": "en"}
    )
    render = render_run(render_id=made.json()["id"])
    asked = upload_portrait(api, portrait_jpeg, name="Sally Ride", email="sally@example.com").json()["id"]
    assert api.post(f"/api/portraits/{asked}/consent-request/", {}, format="json").status_code == 201
    return Site(
        portrait_id=portrait_id,
        render=render,
        share_token=share_link_create(render=render).token,
        consent_token=consent_token_from(outbox),
    )


class Audit:
    """Open pages at one viewport size; each gets a screenshot, the width check and the axe audit."""

    def __init__(self, browser, axe_source: str, size: tuple[int, int], label: str):
        self.browser, self.axe_source, self.size, self.label = browser, axe_source, size, label
        self.failures: list[str] = []

    def emulate(self) -> None:
        width, height = self.size
        self.browser.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def open(self, path: str) -> None:
        self.emulate()
        self.browser.open(path)

    def check(self, name: str) -> None:
        driver = self.browser.driver
        self.emulate()
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        if page_width > self.size[0]:
            self.failures.append(f"{name}: {page_width} px wide at a {self.size[0]} px viewport")
        sticking_out = driver.execute_script(STICKING_OUT)
        if sticking_out:
            self.failures.append(f"{name}: wider than the screen: {', '.join(sticking_out)}")
        driver.execute_script(self.axe_source)
        for violation in driver.execute_async_script(AXE_RUN):
            if violation["impact"] in BLOCKING_IMPACTS:
                self.failures.append(
                    f"{name}: {violation['impact']} {violation['id']} ({violation['help']}): "
                    + " | ".join(violation["nodes"])
                )
        self.browser.screenshot(f"audit-{self.label}-{name}", size=self.size)


def _walk(audit: Audit, site: Site, creator) -> None:
    """Every page, as a visitor, then as the creator, then as the person pictured and a stranger with a video."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    browser = audit.browser
    for name, path in (("landing", "/"), ("login", "/login/"), ("signup", "/signup/")):
        audit.open(path)
        audit.check(name)

    audit.open(f"/consent/{site.consent_token}/")
    audit.check("consent")
    audit.open("/registry/")
    audit.check("registry-start")
    audit.open(f"/watch/{site.share_token}/")
    browser.wait_for(lambda driver: driver.execute_script("return document.querySelector('video').readyState >= 1"))
    audit.check("share")

    audit.open("/verify/")
    audit.check("verify-form")
    browser.driver.find_element(By.CSS_SELECTOR, "#video").send_keys(str(Path(site.render.video.path)))
    browser.driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    browser.wait_for(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".result-summary")))
    # Unfolded, so that the raw values (the IPTC address, ids) are measured too.
    browser.driver.find_element(By.CSS_SELECTOR, ".raw-details summary").click()
    audit.check("verify-result")

    audit.open("/api/docs/")
    browser.wait_for(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, ".opblock")))
    audit.check("api-docs")

    browser.login_as(creator)
    for name, path in (
        ("dashboard", "/"),
        ("portrait", f"/portraits/{site.portrait_id}/"),
        ("new-video", f"/renders/new/?portrait={site.portrait_id}"),
        ("localize", f"/renders/localize/?portrait={site.portrait_id}"),
        ("video", f"/renders/{site.render.id}/"),
    ):
        audit.open(path)
        audit.check(name)


@pytest.mark.parametrize(("size", "label"), [(AUDIT_DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"])
def test_every_page_fits_the_screen_and_passes_the_accessibility_audit(browser, axe_source, site, creator, size, label):
    browser.driver.set_script_timeout(60)
    audit = Audit(browser, axe_source, size, label)
    _walk(audit, site, creator)
    assert not audit.failures, "\n".join(audit.failures)
