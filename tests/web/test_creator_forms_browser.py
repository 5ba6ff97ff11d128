"""The creator's forms in Chromium at a desktop and a phone size: choices follow the chosen portrait's consent, long
lists are searchable, voices are filtered and heard, the script is counted; the portrait page tracks a request with
a copyable link and a QR code; videos and portraits after a "no" say so. Each page gets the axe audit and the width
check of test_audit.py, and a screenshot."""

from __future__ import annotations

import secrets

import pytest

from consent.models import Consent
from consent.services import consent_erase, consent_revoke
from studio.models import Render
from tests.helpers import upload_portrait

from .approval import consent_approved
from .conftest import PHONE
from .test_audit import AUDIT_DESKTOP, Audit

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = pytest.mark.parametrize(
    ("size", "label"), [(AUDIT_DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"]
)
# The texts of a select's options that are offered (not hidden).
OFFERED = "return Array.from(document.querySelector(arguments[0]).options).filter(o => !o.hidden).map(o => o.text)"


def _find(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def _offered(browser, selector) -> list[str]:
    return browser.driver.execute_script(OFFERED, selector)


def _type(browser, selector, text: str) -> None:
    """Replace a field's text by typing, so that the page sees each input event."""
    from selenium.webdriver.common.keys import Keys

    field = _find(browser, selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    if text:
        field.send_keys(text)


@SIZES
def test_the_new_video_form_follows_the_consent_and_lets_voices_be_found_and_heard(
    browser, axe_source, creator, api, portrait_jpeg, size, label
):
    from selenium.webdriver.support.ui import Select

    scoped = upload_portrait(api, portrait_jpeg).json()["id"]
    consent = consent_approved(portrait_id=scoped, languages=["de", "fr"])
    Consent.objects.filter(id=consent.id).update(purposes=["education"])
    wide = upload_portrait(api, portrait_jpeg, name="Sally Ride", email="sally@example.com").json()["id"]
    consent_approved(portrait_id=wide)
    audit = Audit(browser, axe_source, size, label)
    browser.login_as(creator)
    audit.open(f"/renders/new/?portrait={scoped}")

    assert _offered(browser, "#id_purpose") == ["Education"]
    assert _offered(browser, "#id_language") == ["French (fr)", "German (de)"]
    _type(browser, "#language-filter", "germ")
    assert _offered(browser, "#id_language") == ["German (de)"]
    assert Select(_find(browser, "#id_language")).first_selected_option.text == "German (de)"
    browser.wait_for(lambda driver: _offered(browser, "#id_voice")[0] == "Default voice: German, male")
    _type(browser, "#language-filter", "")

    # Another portrait, another consent: every purpose and language is offered again.
    Select(_find(browser, "#id_portrait")).select_by_visible_text("Sally Ride")
    assert len(_offered(browser, "#id_purpose")) == 5
    assert len(_offered(browser, "#id_language")) > 100

    Select(_find(browser, "#voice-gender")).select_by_value("female")
    voices = browser.driver.execute_script(
        "return Array.from(document.querySelectorAll('#id_voice option')).filter(o => !o.hidden && o.value)"
        ".map(o => o.dataset.gender)"
    )
    assert voices and set(voices) == {"female"}

    _type(browser, "#id_text", "Hallo zusammen, willkommen in unserem Laden.")
    assert _find(browser, "#text_count").text == "44 of 5000 characters, about 3 s spoken."

    _find(browser, "[data-voice-play]").click()
    sample = browser.wait_for(
        lambda driver: driver.execute_script("return document.querySelector('[data-voice-audio]').src")
    )
    assert sample.endswith("/sample.wav"), sample
    status = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => done(r.status));", sample
    )
    assert status == 200
    audit.check("new-video-choices")
    assert not audit.failures, "\n".join(audit.failures)


@SIZES
def test_the_portrait_page_tracks_the_request_and_copies_its_link(
    browser, axe_source, creator, api, portrait_jpeg, size, label
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    browser.login_as(creator)
    audit = Audit(browser, axe_source, size, label)
    audit.open(f"/portraits/{portrait_id}/")
    # Asking: languages picked by name from a filtered list.
    _type(browser, "#consent-language-filter", "fren")
    visible = browser.driver.execute_script(
        "return Array.from(document.querySelectorAll('#consent-languages .check')).filter(r => !r.hidden)"
        ".map(r => r.textContent.trim())"
    )
    assert visible == ["French (fr)"]
    _find(browser, "#consent-languages input[value=fr]").click()
    _find(browser, "#consent-request button[type=submit]").click()
    browser.wait_for(lambda driver: driver.find_elements("css selector", "#consent-link"))
    consent = Consent.objects.get()
    assert consent.requested_languages == ["fr"]

    browser.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": browser.base_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    _find(browser, "[data-copy=consent-link]").click()
    browser.wait_for(lambda driver: _find(browser, "[data-copy-status]").text == "Link copied.")
    copied = browser.driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, e => done(String(e)));"
    )
    assert copied.endswith(f"/consent/{consent.token}/")
    assert _find(browser, "[data-link-opened]").text == "not yet"
    assert _find(browser, "svg.qr").size["width"] >= 100
    audit.check("portrait-request-tracking")
    assert not audit.failures, "\n".join(audit.failures)


@SIZES
def test_after_a_no_the_dashboard_shows_revoked_videos_and_erased_portraits(
    browser, axe_source, creator, api, portrait_jpeg, size, label
):
    kept = upload_portrait(api, portrait_jpeg).json()["id"]
    erased = upload_portrait(api, portrait_jpeg, name="Sally Ride", email="sally@example.com").json()["id"]
    for portrait_id in (kept, erased):
        consent = consent_approved(portrait_id=portrait_id)
        consent.revoke_token = secrets.token_urlsafe(32)
        consent.save()
        made = api.post(
            "/api/renders/", {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en"}
        )
        Render.objects.filter(id=made.json()["id"]).update(status=Render.Status.DONE)
    consent_revoke(revoke_token=Consent.objects.get(portrait_id=kept).revoke_token)
    consent_erase(revoke_token=Consent.objects.get(portrait_id=erased).revoke_token)
    browser.login_as(creator)
    audit = Audit(browser, axe_source, size, label)
    audit.open("/")
    statuses = [element.text for element in browser.driver.find_elements("css selector", ".video-table .badge")]
    assert sorted(status.rsplit(" on ", 1)[0] for status in statuses) == ["consent erased", "consent revoked"]
    assert _find(browser, ".erased-row .badge").text.startswith("erased on ")
    assert _find(browser, ".portrait-card a.button").text.startswith("Resend consent request")
    audit.check("dashboard-after-no")
    assert not audit.failures, "\n".join(audit.failures)
