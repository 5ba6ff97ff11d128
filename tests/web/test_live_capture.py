"""The person pictured approves through the live check in a real browser: headless Chromium's fake camera and microphone
play a person who answers the server's prompts (the schedule fixed by CANDOR_CAPTURE_SCHEDULE_SEED), the page
streams them to the server, shows each prompt as it comes, flashes the screen, and shows the decision.
"""

from __future__ import annotations

import threading

import pytest
from selenium.webdriver.common.keys import Keys

from consent.models import Consent, RegistryEntry
from tests.helpers import upload_portrait

from .approval import consent_approved
from .conftest import DESKTOP, PHONE
from .fake_camera import (
    console_errors_besides_refusals,
    fake_camera_write,
    find,
    live_check_record,
    live_check_sent,
    live_check_wait,
    live_check_watch,
    prompt_texts,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_person_pictured_approves_with_the_live_check_after_a_wrong_answer_is_refused(
    filmed, camera, schedule, creator, api, outbox, subject_jpeg, webcam_person, settings
):
    # No staff review: the live check alone decides (a failed capture would otherwise send the approval to review).
    settings.CANDOR_CONSENT_REVIEW = "off"
    # The camera films the portrait's person from another photo: never the portrait's own pixels.
    person = webcam_person
    portrait_id = upload_portrait(api, subject_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json").status_code == 201
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]
    asked = [prompt["value"] for prompt in schedule if prompt["kind"] == "turn"]
    # The same person, live and speaking, but turning the other way each time.
    opposite = {"left": "right", "right": "left", "up": "down", "down": "up"}
    fake_camera_write(camera, person, schedule, turns=[opposite[turn] for turn in asked])

    filmed.open(f"/consent/{token}/")
    assert find(filmed, "#live-check").is_displayed(), "the live check is hidden: no getUserMedia or MediaRecorder"
    assert not find(filmed, "#upload-fallback").get_attribute("open"), "the recorded-video form should be folded away"
    assert "the screen will flash colours for about 2 seconds" in find(filmed, "#live-check").text
    find(filmed, "#full_name").send_keys("Eileen Collins")
    live_check_watch(filmed)
    live_check_record(filmed, find(filmed, "#live-start"))
    # The recording waits for review: played back from the page, not mirrored, until the person sends it.
    assert find(filmed, "#live-review").is_displayed() and find(filmed, "#live-playback").get_attribute("src")
    assert find(filmed, "#live-steps [aria-current=step]").text == "Review and send"
    filmed.screenshot("live-consent-review", size=PHONE)
    find(filmed, "#live-send").click()
    # While the server analyses this capture, the camera (stopped by now) gets the clip that answers the prompts.
    live_check_sent(filmed)
    answering = threading.Thread(target=fake_camera_write, args=(camera, person, schedule))
    answering.start()
    live_check_wait(filmed)
    refusal = find(filmed, "#live-refusal")
    assert refusal.is_displayed() and refusal.get_attribute("role") == "alert"
    # The server's own reason, as it gave it, and how many tries the link has left.
    assert f"do not answer the challenge ({', '.join(asked)})" in refusal.text, refusal.text
    assert "attempts left" in refusal.text, refusal.text
    retry = find(filmed, "#live-retry")
    assert retry.is_displayed()
    assert filmed.driver.switch_to.active_element == refusal, "the reason should have the focus"
    assert filmed.driver.execute_script(
        "const box = arguments[0].getBoundingClientRect(); return box.top >= 0 && box.bottom <= window.innerHeight;",
        refusal,
    ), "the reason should be in view"
    assert Consent.objects.get().status == "pending"
    filmed.screenshot("live-consent-refused", size=PHONE)

    # The second try answers the prompts; it starts from the keyboard (Try again has the focus).
    answering.join()
    live_check_watch(filmed)
    live_check_record(filmed, retry)
    find(filmed, "#live-send").send_keys(Keys.ENTER)
    seen = live_check_wait(filmed, leaves_page=True)
    # The chunks went one at a time, numbered in the order recorded.
    assert seen["most_chunks_in_flight"] == 1
    assert [int(url.rstrip("/").rsplit("/", 1)[1]) for url in seen["chunks"]] == list(range(len(seen["chunks"])))
    prompts = [shown for shown in seen["prompts"] if shown["text"] != "Look at the screen"]
    assert [shown["text"] for shown in prompts] == prompt_texts(schedule), seen["prompts"]
    flash = next(prompt for prompt in schedule if prompt["kind"] == "flash")
    colours = [change for change in seen["flash"] if not change["hidden"]]
    assert [change["colour"] for change in colours] == [_rgb(colour) for colour in flash["colours"]], seen["flash"]
    assert all(change["rect"] == change["viewport"] for change in colours), "the flash must fill the whole viewport"
    assert seen["flash"][-1]["hidden"], "the page must come back after the flash"
    # The flash starts with its prompt, not later: the screen's light is what the server looks for on the face.
    flash_prompt = next(shown for shown in prompts if shown["text"] == "Keep facing the screen")
    assert colours[0]["at_ms"] - flash_prompt["at_ms"] < 50, (flash_prompt, colours[0])

    assert Consent.objects.get().status == "active"
    assert find(filmed, "h1").text == "You approved", find(filmed, "main").text
    assert "Videos may be made with your face" in find(filmed, "main").text
    assert console_errors_besides_refusals(filmed) == []
    filmed.screenshot("live-consent-approved", size=DESKTOP)


def _rgb(colour: str) -> str:
    """'#rrggbb' as the browser's computed style writes it."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_without_a_camera_the_page_offers_the_recorded_video_for_staff_review(
    browser, creator, api, outbox, portrait_jpeg
):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]

    browser.open(f"/consent/{token}/")
    find(browser, "#full_name").send_keys("Eileen Collins")
    find(browser, "#live-start").click()
    # Headless Chromium without fake devices has no camera: getUserMedia fails, the recorded-video form unfolds.
    browser.wait_for(lambda driver: find(browser, "#upload-fallback").get_attribute("open"))
    assert "No camera and microphone could be opened" in find(browser, "#live-status").text
    assert (
        "A recorded video is sent to Candor's staff for review and does not activate consent by itself"
        in find(browser, "#upload-fallback").text
    )
    assert find(browser, "#live-start").is_enabled()
    browser.assert_clean_console()
    browser.screenshot("live-consent-no-camera", size=PHONE)


def test_each_live_check_page_names_its_capture_endpoint_and_what_follows_it(client, api, outbox, portrait_jpeg):
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    api.post(f"/api/portraits/{portrait_id}/consent-request/", {}, format="json")
    token = outbox.links(r"/consent/([A-Za-z0-9_\-]+)/")[-1]
    consent_page = client.get(f"/consent/{token}/").content.decode()
    assert f'data-captures-url="/api/consent/{token}/captures/"' in consent_page
    assert f'data-done-url="/consent/{token}/"' in consent_page
    assert "does not activate consent by itself" in consent_page and 'name="capture"' in consent_page

    client.post("/registry/", {"kind": "do_not_generate", "email": "me@example.com"})
    entry = RegistryEntry.objects.get()
    registry_page = client.get(f"/registry/{entry.id}/").content.decode()
    assert f'data-captures-url="/api/registry/{entry.id}/captures/"' in registry_page
    assert 'data-done-title="Check your email"' in registry_page
    # The registry takes no recorded video, not even for review.
    assert 'name="capture"' not in registry_page

    RegistryEntry.objects.filter(id=entry.id).update(status=RegistryEntry.Status.ACTIVE, remove_token="remove-me")
    removal_page = client.get("/registry/remove/remove-me/").content.decode()
    assert 'data-captures-url="/api/registry/remove/remove-me/captures/"' in removal_page
    assert 'data-done-title="Registration removed"' in removal_page

    # Where the live check leads once the server has approved: the same link shows the decision.
    consent_approved(portrait_id=portrait_id)
    decided = client.get(f"/consent/{token}/").content.decode()
    assert "You approved" in decided and "Videos may be made with your face" in decided
