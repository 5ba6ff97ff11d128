"""The creator's upload and share pages in Chromium at desktop and phone sizes: the browser refuses a wrong file before
sending it, a refused upload keeps the chosen photo, several faces are drawn for the creator to pick one, and a share
page's "Verify this video" opens the verifier with its link filled in. Each state passes the accessibility audit and
fits the screen; screenshots under var/screenshots/."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference import media
from studio.models import Portrait
from studio.services import render_run
from studio.sharing import share_link_create
from tests.helpers import upload_portrait

from .approval import consent_approved
from .conftest import PHONE
from .test_audit import AUDIT_DESKTOP, Audit

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = pytest.mark.parametrize(
    ("size", "label"), [(AUDIT_DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"]
)


@pytest.fixture
def group_photo(tmp_path, astronaut, grace_hopper):
    hopper = cv2.resize(grace_hopper, (round(grace_hopper.shape[1] * 512 / grace_hopper.shape[0]), 512))
    path = tmp_path / "two-people.jpg"
    path.write_bytes(media.image_encode_jpeg(np.hstack([astronaut, hopper])))
    return path


@SIZES
def test_an_upload_is_checked_in_the_browser_keeps_its_photo_and_offers_the_faces_found(
    browser, axe_source, creator, group_photo, tmp_path, size, label
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    browser.driver.set_script_timeout(60)
    audit = Audit(browser, axe_source, size, label)
    browser.login_as(creator)
    audit.open("/portraits/new/")
    driver = browser.driver
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a photo")

    driver.find_element(By.ID, "id_image").send_keys(str(text_file))
    note = driver.find_element(By.CSS_SELECTOR, "[data-file-check]")
    assert note.is_displayed() and "notes.txt is not a JPEG, PNG or WebP image" in note.text
    driver.find_element(By.ID, "id_subject_name").send_keys("Grace Hopper")
    driver.find_element(By.ID, "id_subject_email").send_keys("grace@example.com")
    submit = driver.find_element(By.CSS_SELECTOR, "main button[type=submit]")
    submit.click()
    # candor.js disables the button as it sends a form: still enabled, the browser kept the file to itself.
    assert submit.is_enabled()
    assert not Portrait.objects.exists()
    audit.check("upload-wrong-type")

    driver.find_element(By.ID, "id_image").send_keys(str(group_photo))
    assert not driver.find_element(By.CSS_SELECTOR, "[data-file-check]").is_displayed()
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    browser.wait_for(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "[data-face-choice]")))

    assert len(driver.find_elements(By.CSS_SELECTOR, ".face-box")) == 2
    assert driver.execute_script("return document.getElementById('id_image').files[0].name") == "two-people.jpg"
    assert driver.find_element(By.ID, "id_subject_name").get_attribute("value") == "Grace Hopper"
    audit.check("upload-faces")

    driver.find_element(By.CSS_SELECTOR, "input[name=face][value='1']").click()
    driver.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    browser.wait_for(lambda _: Portrait.objects.filter(owner=creator).exists())
    browser.wait_for(lambda driver: "/portraits/new/" not in driver.current_url)
    assert Portrait.objects.get(owner=creator).subject_name == "Grace Hopper"
    # The refusal's 400 is the only message the console may hold: no script error.
    assert all("status of 400" in error for error in browser.console_errors())
    assert not audit.failures, "\n".join(audit.failures)


@SIZES
def test_the_share_page_opens_the_verifier_with_its_link_filled_in(
    browser, axe_source, api, portrait_jpeg, size, label
):
    from selenium.webdriver.common.by import By

    browser.driver.set_script_timeout(60)
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    made = api.post(
        "/api/renders/",
        {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en", "aspect_ratio": "9:16"},
    )
    render = render_run(render_id=made.json()["id"])
    token = share_link_create(render=render).token
    audit = Audit(browser, axe_source, size, label)

    audit.open(f"/watch/{token}/")
    audit.check("share-9x16")
    browser.driver.find_element(By.CSS_SELECTOR, "[data-verify-share]").click()

    link = browser.driver.find_element(By.ID, "url").get_attribute("value")
    assert link == f"{browser.base_url}/watch/{token}/"
    audit.check("verify-prefilled")
    assert not audit.failures, "\n".join(audit.failures)
