"""The New video page in Chromium: the voice list follows the language, and the first second is previewed in place."""

from __future__ import annotations

import pytest

from studio.models import Render
from tests.helpers import upload_portrait

from .approval import consent_approved

pytestmark = pytest.mark.django_db(transaction=True)

PREVIEW_TIMEOUT_S = 60


def _find(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.CSS_SELECTOR, selector)


def _voice_labels(browser) -> list[str]:
    return browser.driver.execute_script(
        "return Array.from(document.querySelectorAll('#id_voice option')).map(o => o.textContent)"
    )


def _preview(browser) -> str:
    """Press "Preview first second" and wait for its answer in the page: "video" or the refusal's text."""
    _find(browser, "[data-preview-button]").click()
    return browser.wait_for(
        lambda driver: driver.execute_script(
            "const video = document.querySelector('[data-preview-result] video');"
            "if (video) { return video.readyState >= 2 ? 'video' : null; }"
            "const error = document.querySelector('[data-preview-result] [role=alert]');"
            "return error ? error.textContent : null;"
        ),
        timeout=PREVIEW_TIMEOUT_S,
    )


def test_the_voice_list_follows_the_language_and_the_first_second_is_previewed_in_place(
    browser, creator, api, portrait_jpeg
):
    from selenium.webdriver.support.ui import Select

    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id, languages=["en", "de"])
    browser.login_as(creator)
    browser.open(f"/renders/new/?portrait={portrait_id}")
    labels = _voice_labels(browser)
    assert labels[0] == "Default voice: English (America), natural voice Joe, male"
    assert "English (America), female 3" in labels
    # The consent covers English and German only: French is not offered at all.
    assert browser.driver.execute_script(
        "const o = document.querySelector('#id_language option[value=fr]');return o.hidden && o.disabled"
    )
    _find(browser, "#id_text").send_keys("Bonjour à tous, bienvenue dans notre boutique.")
    Select(_find(browser, "#id_language")).select_by_value("de")
    browser.wait_for(lambda driver: _voice_labels(browser)[0] == "Default voice: German, male")
    # French words said to be German: the preview is refused, with the reason, in the page.
    answer = _preview(browser)
    assert answer.startswith("No preview: "), answer
    assert "de" in answer, answer

    text = _find(browser, "#id_text")
    text.clear()
    text.send_keys("Hallo zusammen, willkommen in unserem Laden.")
    Select(_find(browser, "#id_language")).select_by_value("de")
    Select(_find(browser, "#id_voice")).select_by_visible_text("German, female 2")
    browser.driver.execute_script("window.candorSamePage = true")
    assert _preview(browser) == "video"
    duration = browser.driver.execute_script("return document.querySelector('[data-preview-result] video').duration")
    assert 0.9 <= duration <= 1.1, duration
    # Shown in place: the same page, the form as it was, nothing stored.
    assert browser.driver.execute_script("return window.candorSamePage === true")
    assert Select(_find(browser, "#id_voice")).first_selected_option.text == "German, female 2"
    assert not Render.objects.exists()
    # The refused preview answered 400 (the text is not German); nothing else failed.
    assert [entry for entry in browser.console_errors() if "renders/preview/ - Failed" not in entry] == []
    browser.screenshot("17-new-video-preview")

    _find(browser, "form[data-upload] button[type=submit]:not([data-preview-button])").click()
    browser.wait_for(lambda driver: "/renders/new/" not in driver.current_url)
    item = Render.objects.get()
    assert (item.language, item.voice, item.text) == ("de", "de+f2", "Hallo zusammen, willkommen in unserem Laden.")
    assert browser.driver.current_url.endswith(f"/renders/{item.id}/")
