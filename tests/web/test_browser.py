"""The pages in a real headless Chromium: log in, upload with the face overlay, consent state, live progress to a
playing
video, the verifier's plain words, a clean console on every page, one creator never seeing another's data."""

from __future__ import annotations

import base64
import time

import pytest
from django.conf import settings

from studio.models import Portrait, Render
from tests.helpers import upload_portrait

from .approval import consent_approved
from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)

RENDER_TIMEOUT_S = 240


def _by_css(selector):
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, selector)


def _find(browser, selector):
    return browser.driver.find_element(*_by_css(selector))


def _finds(browser, selector):
    return browser.driver.find_elements(*_by_css(selector))


def _visible(selector):
    from selenium.webdriver.support import expected_conditions

    return expected_conditions.visibility_of_element_located(_by_css(selector))


def test_a_creator_signs_up_logs_out_and_logs_in_again(browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.open("/how-candor-works/")
    # Keyboard users reach the content first: the first Tab lands on the skip link.
    ActionChains(browser.driver).send_keys(Keys.TAB).perform()
    assert browser.driver.switch_to.active_element.get_attribute("textContent") == "Skip to content"
    browser.open("/")
    # A visitor lands on what Candor is, with the way to sign up, rather than on a login form.
    assert (
        browser.driver.current_url == browser.base_url + "/"
        and "only if the person pictured says yes" in _find(browser, "h1").text
    )
    _find(browser, "main a[href='/signup/']").click()
    for field, value in (
        ("username", "grace"),
        ("email", "grace@example.com"),
        ("password1", "a-long-passphrase-9"),
        ("password2", "a-long-passphrase-9"),
    ):
        _find(browser, f"#id_{field}").send_keys(value)
    browser.screenshot("01-signup")
    _find(browser, "main button[type=submit]").click()
    browser.wait_for(_visible(".title-row h1"))
    assert _find(browser, "h1").text == "Your portraits" and "Welcome to Candor" in _find(browser, ".messages").text
    browser.assert_clean_console()
    browser.screenshot("02-dashboard-empty")
    _find(browser, "header form button").click()
    browser.wait_for(lambda driver: "/login/" in driver.current_url)
    _find(browser, "#id_username").send_keys("grace")
    _find(browser, "#id_password").send_keys("a-long-passphrase-9", Keys.ENTER)
    browser.wait_for(_visible(".title-row h1"))
    assert browser.driver.current_url == browser.base_url + "/"
    browser.assert_clean_console()


def test_a_dropped_photo_is_previewed_then_shown_with_its_face_box_and_landmarks(browser, creator, portrait_jpeg):
    browser.login_as(creator)
    browser.open("/portraits/new/")
    # Selenium cannot drag a file from the desktop: the same drop event is built in the page from the photo's bytes.
    browser.driver.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "eileen.jpg", {type: "image/jpeg"}));
        const zone = document.querySelector("[data-dropzone]");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        """,
        base64.b64encode(portrait_jpeg).decode(),
    )
    browser.wait_for(_visible("img[data-preview]"))
    assert browser.driver.execute_script("return document.querySelector('img[data-preview]').naturalWidth") == 512
    _find(browser, "#id_subject_name").send_keys("Eileen Collins")
    _find(browser, "#id_subject_email").send_keys("eileen@example.com")
    browser.screenshot("03-upload-dropped")
    _find(browser, "main button[type=submit]").click()
    browser.wait_for(_visible("svg[data-face-overlay]"))
    portrait = Portrait.objects.get()
    assert browser.driver.current_url.endswith(f"/portraits/{portrait.id}/")
    assert len(_finds(browser, "svg[data-face-overlay] circle")) == 68
    # The overlay lies on the photo: the drawn box covers the detected face at the photo's displayed scale.
    geometry = browser.driver.execute_script(
        "const img = document.querySelector('.overlay-wrap img').getBoundingClientRect();"
        "const box = document.querySelector('svg[data-face-overlay] rect').getBoundingClientRect();"
        "return [img.x, img.y, img.width, box.x, box.y, box.width, box.height];"
    )
    img_x, img_y, img_width, box_x, box_y, box_width, box_height = geometry
    scale = img_width / portrait.width
    x, y, w, h = portrait.face_box
    assert abs(box_x - (img_x + x * scale)) < 3 and abs(box_y - (img_y + y * scale)) < 3
    assert abs(box_width - w * scale) < 3 and abs(box_height - h * scale) < 3
    assert "Portrait uploaded" in _find(browser, ".messages").text
    browser.assert_clean_console()
    browser.screenshot("04-portrait-face-overlay")


def test_the_dashboard_shows_each_portraits_consent_state(browser, creator, api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    browser.login_as(creator)
    browser.open("/")
    assert _find(browser, ".portrait-card .badge").text == "none"
    # The dashboard's button opens the request form on the portrait page; nothing is sent until it is submitted.
    _find(browser, ".portrait-card a.button").click()
    _find(browser, "#consent-request button[type=submit]").click()
    browser.wait_for(_visible(".messages"))
    browser.open("/")
    assert _find(browser, ".portrait-card .badge").text == "pending"
    assert _find(browser, ".portrait-card a.button").text.startswith("Resend consent request")
    assert outbox.links(r"/consent/([A-Za-z0-9_\-]+)/"), "no consent link was emailed"
    consent_approved(portrait_id=portrait_id)
    browser.open("/")
    assert _find(browser, ".portrait-card .badge").text == "active"
    assert "languages: any" in _find(browser, ".portrait-card .scope").text
    assert _find(browser, ".portrait-card a.button").text == "New video"
    browser.assert_clean_console()
    browser.screenshot("05-dashboard-consent-active")


@pytest.mark.e2e
def test_the_whole_journey_consent_by_camera_then_a_two_language_localization_plays_and_verifies(
    browser, filmed, camera, schedule, celery_worker, creator, api, outbox, subject_jpeg, webcam_person
):
    """The creator asks for consent on the dashboard; the person pictured approves with the camera in their own browser;
    the creator localizes into two languages, watches progress reach 100%, plays the videos; the verifier names them."""
    from selenium.webdriver.support.ui import Select

    from consent.models import Consent

    from .fake_camera import find, live_check_approve

    portrait_id = upload_portrait(api, subject_jpeg).json()["id"]
    browser.login_as(creator)
    browser.open("/")
    _find(browser, ".portrait-card a.button").click()
    _find(browser, "#consent-request button[type=submit]").click()
    browser.wait_for(_visible(".messages"))
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]

    filmed.open(f"/consent/{token}/")
    # The camera films the portrait's person from another photo of them.
    live_check_approve(filmed, camera, webcam_person, schedule, name="Eileen Collins")
    assert find(filmed, "h1").text == "You approved" and Consent.objects.get().status == "active"
    filmed.assert_clean_console()

    browser.open("/")
    assert _find(browser, ".portrait-card .badge").text == "active"
    browser.open(f"/renders/localize/?portrait={portrait_id}")
    Select(_find(browser, "#id_rows-0-language")).select_by_value("en")
    _find(browser, "#id_rows-0-text").send_keys("Welcome to our shop. We are glad you are here today.")
    Select(_find(browser, "#id_rows-1-language")).select_by_value("de")
    _find(browser, "#id_rows-1-text").send_keys("Willkommen in unserem Laden. Schön, dass Sie heute hier sind.")
    browser.screenshot("06-localize-form")
    _find(browser, "main button[type=submit]").click()
    browser.wait_for(_visible(".compare-grid"))
    assert len(_finds(browser, ".compare-grid > li")) == 2
    # Marks this page load: while the mark survives, changes on screen come from polling, not from reloads.
    browser.driver.execute_script("window.candorSamePage = true")
    seen_live, shots = set(), set()
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while time.monotonic() < deadline:
        state = browser.driver.execute_script(
            "return [window.candorSamePage === true, "
            "Array.from(document.querySelectorAll('[data-role=status]')).map(e => e.textContent),"
            " Array.from(document.querySelectorAll('[data-role=percent]')).map(e => e.textContent)]"
        )
        same_page, statuses, percents = state
        if same_page:
            seen_live.update(f"{status}" for status in statuses)
            seen_live.update(percent for percent in percents if percent not in ("0%", "100%"))
        if len(_finds(browser, "video.player")) == 2:
            break
        if same_page and "running" in statuses and "07" not in shots:
            shots.add("07")
            browser.screenshot("07-localize-progress")
        time.sleep(0.2)
    outcomes = {r.language: r.status for r in Render.objects.all()}
    assert outcomes == {"en": "done", "de": "done"}, {r.language: (r.status, r.error) for r in Render.objects.all()}
    assert "running" in seen_live and any(value.endswith("%") for value in seen_live), seen_live
    browser.wait_for(
        lambda driver: driver.execute_script(
            "return Array.from(document.querySelectorAll('video.player')).every(v => v.readyState >= 1 && !v.error)"
        )
    )
    player = _find(browser, "video.player")
    assert browser.driver.execute_script("return arguments[0].duration", player) > 2
    assert browser.driver.execute_script("return arguments[0].textTracks[0].mode", player) == "showing"
    browser.driver.execute_script("arguments[0].currentTime = 1.0", player)
    browser.wait_for(
        lambda driver: driver.execute_script("return arguments[0].textTracks[0].activeCues.length", player) > 0
    )
    assert browser.driver.execute_script("return arguments[0].textTracks[0].activeCues[0].text", player)
    browser.assert_clean_console()
    browser.screenshot("08-localize-done")
    browser.open("/")
    assert [badge.text for badge in _finds(browser, "tbody [data-role=status]")] == ["done", "done"]
    browser.screenshot("08-dashboard-with-videos")
    browser.open(f"/renders/{Render.objects.get(language='de').id}/")
    browser.wait_for(_visible("video.player"))
    browser.assert_clean_console()
    browser.screenshot("08-video-page")
    _find(browser, "#share-make").click()
    browser.wait_for(_visible("#share-link"))
    share_link = _find(browser, "#share-link").get_attribute("value")
    browser.driver.delete_all_cookies()
    browser.driver.get(share_link)
    browser.wait_for(
        lambda driver: driver.execute_script(
            "const v = document.querySelector('video.player'); return v && v.readyState >= 1"
        )
    )
    browser.assert_clean_console()
    browser.screenshot("08-shared-video-phone", size=PHONE)

    english = Render.objects.get(language="en")
    browser.open("/verify/")
    _find(browser, "#video").send_keys(str(settings.MEDIA_ROOT / english.video.name))
    _find(browser, "main button[type=submit]").click()
    browser.wait_for(_visible(".verdict"))
    verdict = _find(browser, ".verdict").text
    assert verdict == (
        f"Made with Candor on {english.created_at:%Y-%m-%d} as an AI-generated video. "
        "The person pictured consented; consent is active."
    )
    browser.assert_clean_console()
    browser.screenshot("09-verify-recognized")


def test_the_verifier_says_plainly_when_it_does_not_recognize_a_video(browser, plain_mp4):
    browser.open("/verify/")
    _find(browser, "#video").send_keys(str(plain_mp4))
    _find(browser, "main button[type=submit]").click()
    browser.wait_for(_visible(".verdict"))
    assert _find(browser, ".verdict").text.startswith(
        "Not recognized: we found no valid Candor signature or watermark."
    )
    # The raw fields are folded away until asked for.
    assert "C2PA manifest: absent" not in _find(browser, ".result").text
    _find(browser, ".raw-details summary").click()
    assert "C2PA manifest: absent" in _find(browser, ".result").text
    browser.assert_clean_console()
    browser.screenshot("10-verify-not-recognized-phone", size=PHONE)


@pytest.mark.parametrize(
    "path",
    ["/login/", "/signup/", "/password-reset/", "/how-candor-works/", "/verify/"],
)
def test_public_pages_fit_a_phone_without_console_errors(browser, path):
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    browser.open(path)
    assert browser.driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), (
        "the page scrolls sideways"
    )
    browser.assert_clean_console()
    browser.screenshot(f"11-phone-{path.strip('/')}", size=PHONE)


def test_creator_pages_have_no_console_errors(browser, creator, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    browser.login_as(creator)
    for path in (
        "/",
        f"/portraits/{portrait_id}/",
        "/portraits/new/",
        f"/renders/new/?portrait={portrait_id}",
        "/renders/localize/",
        "/account/token/",
    ):
        browser.open(path)
        browser.assert_clean_console()
    browser.open("/renders/new/")
    from selenium.webdriver.support.ui import Select

    Select(_find(browser, "#id_language")).select_by_value("de")
    browser.wait_for(
        lambda driver: (
            driver.execute_script("return document.querySelector('#id_voice').options[0].text")
            == "Default voice: German, male"
        )
    )
    _find(browser, "#id_source_1").click()
    assert _find(browser, "#id_audio").is_displayed()
    assert not _find(browser, "#id_text").is_displayed()
    browser.assert_clean_console()
    browser.screenshot("12-new-video-audio")


def test_a_creator_never_sees_another_creators_portraits(browser, creator, other_creator, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    browser.login_as(other_creator)
    browser.open("/")
    assert "Eileen Collins" not in browser.driver.page_source
    assert "No portraits yet" in _find(browser, "main").text
    browser.open(f"/portraits/{portrait_id}/")
    assert "Eileen Collins" not in browser.driver.page_source
    assert "Page not found" in _find(browser, "h1").text
