"""The live, server-paced capture: only a stream that arrives as it is recorded and answers each prompt after it was
revealed, within a person's reaction time, approves. Each attack here is the cheapest way around one rule.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Consent, ConsentEvent, LiveCapture, LiveCaptureChunk
from consent.pace import MAX_HOLD_S, capture_pace
from consent.services.live import capture_schedule
from tests.conftest import LIVE_SEED
from tests.helpers import approve_live, consent_token_from, frozen_clock, upload_portrait
from tests.live import live_stream, prompt_shown_s, scheduled_clip, stream_pieces

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token(api, outbox, portrait_jpeg, settings):
    settings.CANDOR_CONSENT_REVIEW = "off"
    portrait_id = upload_portrait(api, portrait_jpeg).json()["id"]
    assert api.post(f"/api/portraits/{portrait_id}/consent-request/", {"languages": ["en"]}, format="json").status_code
    return consent_token_from(outbox)


@pytest.fixture(scope="module")
def clip_for(same_person_photos):
    """reaction_s -> the portrait's person answering the fixed schedule that long after each turn shows on the page.

    A late second turn ends just before the flash, so the screen is taken close (0.1 of the room's light): these clips
    test the reaction rule, not the flash's margin.
    """
    made: dict[float, bytes] = {}

    def clip(reaction_s: float) -> bytes:
        if reaction_s not in made:
            made[reaction_s] = scheduled_clip(
                same_person_photos[1], capture_schedule(LIVE_SEED), reaction_s=reaction_s, flash_strength=0.1
            )
        return made[reaction_s]

    return clip


def test_a_stream_at_the_cameras_pace_answering_in_time_approves(public_api, token, live_webm):
    response = approve_live(public_api, token, live_webm)
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "active"}
    liveness = Consent.objects.get().liveness
    assert liveness["pace"]["passed"] and liveness["pace"]["worst_hold_s"] < 0.2
    assert liveness["turns_seen"] == ["up", "left"] and len(liveness["turn_onsets_s"]) == 2
    capture = LiveCapture.objects.get()
    assert capture.status == "passed"
    assert not LiveCaptureChunk.objects.exists(), "the stream's chunks are dropped once it is analysed"


def test_prompts_are_revealed_only_when_due_and_never_ahead(public_api, token, live_webm):
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    assert opened["prompts"] == []
    schedule = capture_schedule(LIVE_SEED)
    start = timezone.now()
    seen_kinds = []
    shown_at: dict[int, float] = {}
    for seq, (piece, media_end) in enumerate(stream_pieces(live_webm)):
        elapsed = media_end - 0.25
        with frozen_clock(start + timedelta(seconds=elapsed)):
            answer = public_api.post(f"{opened['chunks_url']}{seq}/", data=piece, content_type="video/webm").json()
        due_now = [prompt for prompt in schedule if prompt["due_s"] <= answer["elapsed_s"]]
        assert [prompt["id"] for prompt in answer["prompts"]] == [prompt["id"] for prompt in due_now]
        assert all("due_s" not in prompt for prompt in answer["prompts"])
        assert answer["done"] == (len(due_now) == len(schedule))
        seen_kinds = [prompt["kind"] for prompt in answer["prompts"]]
        for prompt in answer["prompts"]:
            shown_at.setdefault(prompt["id"], media_end)
    assert seen_kinds == ["turn", "turn", "flash", "digits", "done"]
    # The stand-ins answer each prompt a reaction time after tests/live.py says it showed: never before it did (the
    # flash, due 5.55 s, shows with chunk 23's answer, at media second 6.0, not 5.75).
    assert shown_at == {prompt["id"]: prompt_shown_s(prompt["due_s"]) for prompt in schedule}


def test_a_file_streamed_faster_than_it_plays_is_not_live(public_api, token, same_person_photos):
    """A prepared file long enough to last until the end of the schedule though sent 1.5 times faster than it plays."""
    longer = scheduled_clip(same_person_photos[1], capture_schedule(LIVE_SEED), tail_s=6.0)
    response = live_stream(public_api, f"/api/consent/{token}/captures/", longer, speed=1.5, finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "capture_not_live"
    assert Consent.objects.get().status == "pending"
    assert ConsentEvent.objects.filter(kind="capture_refused", details__reason="capture_not_live").count() == 1


def test_a_stream_held_back_after_a_prompt_is_not_live(public_api, token, live_webm):
    """Holding the stream back 1.5 s from the first prompt on would leave time to render an answer offline."""
    response = live_stream(
        public_api,
        f"/api/consent/{token}/captures/",
        live_webm,
        held_from_s=2.0,
        hold_s=MAX_HOLD_S + 0.5,
        finish={"full_name": "E"},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "capture_not_live"


def test_turns_made_before_their_prompts_do_not_answer_them(public_api, token, clip_for):
    """A prepared file that guessed the turns and nearly their moments: it turns as each prompt shows, sooner than a
    person can react to it.
    """
    response = live_stream(public_api, f"/api/consent/{token}/captures/", clip_for(-0.1), finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "challenge_not_answered"


def test_turns_just_inside_the_reaction_time_pass_and_just_outside_fail(public_api, token, clip_for):
    """Each turn passes its threshold about 0.1 s after it starts: starting 1.4 s after the prompt shows is inside the
    1.6 s allowed, 1.7 s is outside.
    """
    late = live_stream(public_api, f"/api/consent/{token}/captures/", clip_for(1.7), finish={"full_name": "E"})
    assert late.status_code == 403 and late.json()["error"] == "challenge_not_answered"
    in_time = live_stream(public_api, f"/api/consent/{token}/captures/", clip_for(1.4), finish={"full_name": "E"})
    assert in_time.status_code == 200, in_time.json()


def test_a_capture_answering_another_schedule_is_refused(public_api, token, live_webm, settings):
    """A recording accepted on one link, replayed on a link whose schedule asks other turns at other times."""
    settings.CANDOR_CAPTURE_SCHEDULE_SEED = 8
    response = live_stream(public_api, f"/api/consent/{token}/captures/", live_webm, finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "challenge_not_answered"


def test_finishing_before_the_last_prompt_is_refused(public_api, token, live_webm):
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    piece, _end = stream_pieces(live_webm)[0]
    assert public_api.post(f"{opened['chunks_url']}0/", data=piece, content_type="video/webm").status_code == 200
    finished = public_api.post(opened["finish_url"], {"full_name": "E"}, format="json")
    assert finished.status_code == 403 and finished.json()["error"] == "challenge_not_answered"
    again = public_api.post(opened["finish_url"], {"full_name": "E"}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "capture_closed"


def test_chunks_must_come_in_order_and_within_their_limits(public_api, token, live_webm):
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    pieces = stream_pieces(live_webm)
    skipped = public_api.post(f"{opened['chunks_url']}1/", data=pieces[1][0], content_type="video/webm")
    assert skipped.status_code == 409 and skipped.json()["error"] == "chunk_out_of_order"
    too_big = public_api.post(f"{opened['chunks_url']}0/", data=b"\0" * 1_000_001, content_type="video/webm")
    assert too_big.status_code == 413
    assert public_api.post(f"{opened['chunks_url']}0/", data=pieces[0][0], content_type="video/webm").status_code == 200
    replayed = public_api.post(f"{opened['chunks_url']}0/", data=pieces[0][0], content_type="video/webm")
    assert replayed.status_code == 409
    assert LiveCapture.objects.get().chunks_received == 1


def test_a_capture_expires_two_minutes_after_it_opens(public_api, token, live_webm):
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    with frozen_clock(timezone.now() + timedelta(seconds=121)):
        late = public_api.post(
            f"{opened['chunks_url']}0/", data=stream_pieces(live_webm)[0][0], content_type="video/webm"
        )
    assert late.status_code == 410 and late.json()["error"] == "capture_expired"


def test_a_new_capture_ends_the_open_one_and_a_link_allows_three(public_api, token, live_webm):
    piece = stream_pieces(live_webm)[0][0]
    first = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    second = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    stale = public_api.post(f"{first['chunks_url']}0/", data=piece, content_type="video/webm")
    assert stale.status_code == 409 and stale.json()["error"] == "capture_closed"
    assert public_api.post(f"{second['chunks_url']}0/", data=piece, content_type="video/webm").status_code == 200
    assert public_api.post(f"/api/consent/{token}/captures/", format="json").status_code == 201
    fourth = public_api.post(f"/api/consent/{token}/captures/", format="json")
    assert fourth.status_code == 403 and fourth.json()["error"] == "link_locked"
    assert Consent.objects.get().status == "locked"


def test_a_capture_belongs_to_its_own_link(api, public_api, outbox, token, other_person_jpeg, live_webm):
    opened = public_api.post(f"/api/consent/{token}/captures/", format="json").json()
    other_portrait = upload_portrait(api, other_person_jpeg, name="Grace Hopper").json()["id"]
    api.post(f"/api/portraits/{other_portrait}/consent-request/", {}, format="json")
    other_token = consent_token_from(outbox)
    piece = stream_pieces(live_webm)[0][0]
    borrowed = public_api.post(
        f"/api/consent/{other_token}/captures/{opened['id']}/chunks/0/", data=piece, content_type="video/webm"
    )
    assert borrowed.status_code == 404


def test_a_recorded_file_never_activates_consent_by_itself(public_api, token, live_capture, settings):
    """The old upload path: a file proves nothing about when it was made, so even with review off it waits for staff."""
    from tests.helpers import decide

    response = decide(public_api, token, capture=live_capture)
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "awaiting_review"}
    assert Consent.objects.get().review.reasons == ["file_upload"]


def test_pace_rule_just_inside_and_just_outside_the_hold_limit():
    packets = [(100 * (index + 1), 0.25 * (index + 1)) for index in range(40)]
    steady = [(byte_end, media_end - 0.25) for byte_end, media_end in packets]
    inside = [(b, s + (MAX_HOLD_S - 0.05 if index >= 20 else 0.0)) for index, (b, s) in enumerate(steady)]
    outside = [(b, s + (MAX_HOLD_S + 0.05 if index >= 20 else 0.0)) for index, (b, s) in enumerate(steady)]
    assert capture_pace(packets, steady).passed
    assert capture_pace(packets, inside).passed
    assert not capture_pace(packets, outside).passed
    # Over a 10 s stream, 25% faster than real time gains 2 s on the clock; 5% gains 0.5 s, within the limit.
    assert not capture_pace(packets, [(b, s / 1.25) for b, s in steady]).passed
    assert capture_pace(packets, [(b, s / 1.05) for b, s in steady]).passed


def test_the_last_chunk_sent_at_once_when_recording_stops_does_not_set_the_pace():
    """A recorder that stops sends what it holds at once: 0.6 s early. Taken as the clock's offset, it would make the
    steady chunks before it look held back by 0.6 s more.
    """
    packets = [(100 * (index + 1), 0.25 * (index + 1)) for index in range(40)]
    arrivals = [
        (byte_end, media_end - 0.25 + (1.2 if index < 39 else 0.6))
        for index, (byte_end, media_end) in enumerate(packets)
    ]
    pace = capture_pace(packets, arrivals)
    assert pace.passed and abs(pace.offset_s - 0.95) < 1e-9 and abs(pace.worst_hold_s) < 1e-9


def test_a_face_that_does_not_reflect_the_flash_is_refused(public_api, token, same_person_photos):
    """A clip that answers every prompt in time but was not lit by the screen: a screen replay or a virtual camera."""
    unlit = scheduled_clip(same_person_photos[1], capture_schedule(LIVE_SEED), flash_strength=None)
    response = live_stream(public_api, f"/api/consent/{token}/captures/", unlit, finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "flash_not_reflected"


def test_a_real_time_warp_of_the_portrait_itself_is_refused(public_api, token, same_person_photos):
    """The strongest photo attack: the portrait's own pixels warped live to answer every prompt in time, with the flash
    painted on the face. Only the portrait-copy check stands in its way.
    """
    warped = scheduled_clip(same_person_photos[0], capture_schedule(LIVE_SEED))
    response = live_stream(public_api, f"/api/consent/{token}/captures/", warped, finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "portrait_copy"


def test_the_openapi_schema_describes_the_live_capture_for_other_clients():
    """Another client must be able to drive the protocol from the schema alone: its three calls for each subject."""
    from django.core.management import call_command

    output = io.StringIO()
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=output)
    schema = output.getvalue()
    for base in ("/api/consent/{token}", "/api/registry/{entry_id}", "/api/registry/remove/{remove_token}"):
        for path in ("/captures/:", "/captures/{capture_id}/chunks/{seq}/:", "/captures/{capture_id}/finish/:"):
            assert f"{base}{path}" in schema
    assert "revealed_s" in schema and "video/webm" in schema


def test_digits_read_before_they_were_shown_are_not_heard(public_api, token, same_person_photos):
    """A prepared file that guessed the digits: they are read 1.5 s before their reveal, so they cannot count."""
    early = scheduled_clip(same_person_photos[1], capture_schedule(LIVE_SEED), digits_after_s=-1.5)
    response = live_stream(public_api, f"/api/consent/{token}/captures/", early, finish={"full_name": "E"})
    assert response.status_code == 403
    assert response.json()["error"] == "digits_mismatch"
