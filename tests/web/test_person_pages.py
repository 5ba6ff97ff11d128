"""The person pictured's pages in a real Chromium at desktop (1366x900) and phone (390x844) sizes: each one audited
(axe-core: no serious or critical violation; nothing wider than the screen) with a screenshot under var/screenshots/,
and a refusal on the consent page brought into view with every choice kept.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from consent.models import Consent
from studio.models import Portrait
from studio.services import render_enqueue
from tests.helpers import consent_token_from, upload_portrait

from .approval import consent_approved
from .conftest import PHONE
from .test_audit import AUDIT_DESKTOP, Audit

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = pytest.mark.parametrize(
    ("size", "label"), [(AUDIT_DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"]
)


def _asked(api, outbox, portrait_jpeg) -> tuple[str, str]:
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    created = api.post(
        f"/api/portraits/{portrait_id}/consent-request/",
        {
            "purposes": ["education", "marketing", "support"],
            "languages": ["de", "en", "fr"],
            "max_renders": 5,
            "requester_name": "Maya Weber",
            "organisation": "Acme Films International",
            "message": "We make the onboarding videos for your team; this one welcomes new colleagues in three "
            "languages.",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    return portrait_id, consent_token_from(outbox)


@SIZES
def test_a_refused_approval_comes_back_in_view_with_every_choice_kept(
    browser, axe_source, creator, api, outbox, portrait_jpeg, tmp_path, size, label
):
    browser.driver.set_script_timeout(60)
    audit = Audit(browser, axe_source, size, label)
    _, token = _asked(api, outbox, portrait_jpeg)
    audit.open(f"/consent/{token}/")
    driver = browser.driver
    assert driver.find_element(By.CSS_SELECTOR, "h1").text == (
        "Maya Weber (Acme Films International) asks to animate your photo"
    )
    assert not driver.find_elements(By.LINK_TEXT, "Log in") and not driver.find_elements(By.LINK_TEXT, "Sign up")
    assert not driver.find_element(By.CSS_SELECTOR, "#consent-text").get_attribute("open"), "the full text is folded"
    audit.check("person-consent")

    driver.find_element(By.CSS_SELECTOR, "#full_name").send_keys("Eileen Collins")
    driver.find_element(By.CSS_SELECTOR, "input[name=purposes][value=marketing]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=languages][value=fr]").click()
    driver.find_element(By.CSS_SELECTOR, "#allow_label_removal").click()
    # No camera in this browser: the person sends a photo through the recorded-video form, which is refused.
    driver.find_element(By.CSS_SELECTOR, "#upload-fallback summary").click()
    photo = tmp_path / "me.jpg"
    photo.write_bytes(portrait_jpeg)
    driver.find_element(By.CSS_SELECTOR, "#capture").send_keys(str(photo))
    driver.find_element(By.CSS_SELECTOR, "#upload-fallback button[type=submit]").click()
    browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#decision-error"))
    error = driver.find_element(By.CSS_SELECTOR, "#decision-error")
    assert "a photo cannot prove that you are present" in error.text
    browser.wait_for(lambda d: d.switch_to.active_element == error)
    assert driver.execute_script(
        "const box = arguments[0].getBoundingClientRect(); return box.top >= 0 && box.bottom <= window.innerHeight;",
        error,
    ), "the reason should be in view"
    assert driver.find_element(By.CSS_SELECTOR, "#full_name").get_attribute("value") == "Eileen Collins"
    ticked = {
        box.get_attribute("value"): box.is_selected()
        for box in driver.find_elements(By.CSS_SELECTOR, "input[name=purposes], input[name=languages]")
    }
    assert ticked == {"education": True, "marketing": False, "support": True, "de": True, "en": True, "fr": False}
    assert driver.find_element(By.CSS_SELECTOR, "#allow_label_removal").is_selected()
    assert Consent.objects.get().status == "pending"
    audit.check("person-consent-refused")
    assert not audit.failures, "\n".join(audit.failures)


@SIZES
def test_the_persons_other_pages_fit_the_screen_and_pass_the_audit(
    browser, axe_source, creator, api, outbox, portrait_jpeg, size, label
):
    browser.driver.set_script_timeout(60)
    audit = Audit(browser, axe_source, size, label)
    portrait_id, token = _asked(api, outbox, portrait_jpeg)
    consent = consent_approved(portrait_id=portrait_id)
    Consent.objects.filter(id=consent.id).update(revoke_token="revoke-me", requester_name="Maya Weber")
    render_enqueue(
        owner=creator,
        portrait=Portrait.objects.get(id=portrait_id),
        purpose="education",
        text="Hello there.",
        language="en",
        dispatch=False,
    )
    for name, path in (
        ("person-approved", f"/consent/{token}/"),
        ("person-receipt", f"/consent/{token}/receipt/"),
        ("person-videos", f"/consent/{token}/videos/"),
        ("person-revoke", "/consent/revoke/revoke-me/"),
    ):
        audit.open(path)
        audit.check(name)
    driver = browser.driver
    driver.find_element(By.CSS_SELECTOR, "button[value=revoke]").click()
    browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#confirm-revoke"))
    audit.check("person-revoke-confirm")
    driver.find_element(By.CSS_SELECTOR, "#confirm-revoke").click()
    browser.wait_for(lambda d: "Revoked on" in d.find_element(By.CSS_SELECTOR, "#consent-state").text)
    audit.check("person-revoked")
    driver.find_element(By.CSS_SELECTOR, "button[value=erase]").click()
    browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#confirm-erase"))
    assert "This cannot be undone" in driver.find_element(By.CSS_SELECTOR, "main").text
    audit.check("person-erase-confirm")
    assert not audit.failures, "\n".join(audit.failures)


@SIZES
def test_after_declining_the_registry_is_offered(browser, axe_source, creator, api, outbox, portrait_jpeg, size, label):
    browser.driver.set_script_timeout(60)
    audit = Audit(browser, axe_source, size, label)
    _, token = _asked(api, outbox, portrait_jpeg)
    audit.open(f"/consent/{token}/")
    driver = browser.driver
    driver.find_element(By.CSS_SELECTOR, "#full_name").send_keys("Eileen Collins")
    driver.find_element(By.CSS_SELECTOR, "button[value=decline]").click()
    browser.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#registry-offer"))
    assert driver.find_element(By.LINK_TEXT, "Register my face as do-not-generate").is_displayed()
    audit.check("person-declined")
    assert not audit.failures, "\n".join(audit.failures)
