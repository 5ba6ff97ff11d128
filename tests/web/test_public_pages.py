"""What a visitor meets: a landing page at /, a compact menu on a phone, the API docs working with no network, and
the share page's "AI-generated" badge outside the video."""

from __future__ import annotations

import pytest

from studio.services import render_run
from studio.sharing import share_link_create
from tests.helpers import upload_portrait

from .approval import consent_approved
from .conftest import PHONE

pytestmark = pytest.mark.django_db(transaction=True)


def _css(selector):
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, selector)


def test_a_visitor_gets_the_landing_page_and_a_creator_their_dashboard(client, creator):
    landing = client.get("/")
    html = landing.content.decode()
    assert landing.status_code == 200 and "If they do nothing, nothing is made." in html
    assert 'href="/verify/"' in html and 'href="/signup/"' in html and 'href="/login/"' in html
    client.force_login(creator)
    assert "Your portraits" in client.get("/").content.decode()


def test_the_share_page_keeps_an_ai_generated_badge_outside_the_video(client, api, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    consent_approved(portrait_id=portrait_id)
    made = api.post(
        "/api/renders/", {"portrait": portrait_id, "purpose": "marketing", "text": "Hi.", "language": "en"}
    ).json()
    render = render_run(render_id=made["id"])
    page = client.get(f"/watch/{share_link_create(render=render).token}/")
    html = page.content.decode()
    assert page.status_code == 200
    badge = html.index('<p class="ai-badge" data-ai-badge>AI-generated</p>')
    # Before the player and outside it: no control bar can cover it.
    assert badge < html.index("<video")


def test_on_a_phone_the_menu_folds_behind_one_button_that_a_keyboard_opens_and_closes(browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = browser.driver
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    browser.open("/verify/")
    toggle = driver.find_element(*_css("[data-menu-toggle]"))
    verify_link = driver.find_element(*_css("#main-nav a[href='/verify/']"))
    assert toggle.is_displayed() and not verify_link.is_displayed()
    assert toggle.get_attribute("aria-expanded") == "false"
    header_height = driver.execute_script("return document.querySelector('header').offsetHeight")
    assert header_height < 80, f"the folded header is {header_height} px tall"

    toggle.send_keys(Keys.ENTER)
    assert verify_link.is_displayed() and toggle.get_attribute("aria-expanded") == "true"
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    assert not verify_link.is_displayed() and toggle.get_attribute("aria-expanded") == "false"
    assert driver.switch_to.active_element == toggle
    browser.assert_clean_console()

    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.open("/verify/")
    assert not driver.find_element(*_css("[data-menu-toggle]")).is_displayed()
    assert driver.find_element(*_css("#main-nav a[href='/verify/']")).is_displayed()


def test_the_api_docs_render_every_operation_from_this_server_alone(browser):
    from selenium.webdriver.support import expected_conditions

    browser.open("/api/docs/")
    browser.wait_for(expected_conditions.visibility_of_element_located(_css(".opblock")))
    driver = browser.driver
    paths = driver.execute_script(
        "return [...document.querySelectorAll('.opblock-summary-path')].map(e => e.dataset.path)"
    )
    assert "/api/verify/" in paths and "/api/renders/" in paths
    # Every script, style and font came from this server: nothing from a CDN, so it works offline.
    origins = driver.execute_script(
        "return performance.getEntriesByType('resource').map(entry => new URL(entry.name).origin)"
    )
    assert origins and set(origins) == {browser.base_url}
    browser.assert_clean_console()
    browser.screenshot("api-docs")
