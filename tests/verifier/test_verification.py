"""The verifier on real renders: full C2PA report, stripped and tampered copies, copied watermarks, share links, the
command.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.management import call_command

from benchmarks.video_transforms import video_write
from inference import media
from tests.helpers import portrait_with_active_consent
from tests.provenance.mp4_boxes import top_level_box

pytestmark = pytest.mark.django_db


def _reencoded(
    source: Path,
    destination: Path,
    *,
    crf: int = 28,
    container: str = "mp4",
    mirror_frames=None,
) -> Path:
    """Decode every frame and the sound and encode them again: metadata (and so the manifest) does not survive."""
    frames = list(media.video_frames(source))
    if mirror_frames is not None:
        frames = mirror_frames(frames)
    sound, _ = media.video_sound(source, max_seconds=60)
    return video_write(destination, frames, sound, media.AUDIO_SAMPLE_RATE, crf=crf, container=container)


def test_a_render_verifies_with_a_complete_credential_and_says_why(render):
    from provenance.watermark import ALGORITHM
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    report = report_as_dict(video_verify(path=Path(render.video.path)))

    assert report["verdict"] == "candor_generated"
    assert report["content_match"] is True
    c2pa = report["c2pa"]
    assert c2pa["present"] and c2pa["valid"] and c2pa["trusted"] and c2pa["hash_binding_intact"]
    assert c2pa["tampered"] is False
    assert c2pa["hash_binding"].startswith("c2pa.hash.bmff.v")
    assert c2pa["claim_generator"].startswith("Candor/")
    assert c2pa["actions"] == ["c2pa.created", "c2pa.edited", "c2pa.watermarked"]
    assert c2pa["digital_source_type"].endswith("trainedAlgorithmicMedia")
    with render.portrait.image.open("rb") as handle:
        portrait_hash = hashlib.sha256(handle.read()).hexdigest()
    assert c2pa["ingredients"] == [
        {"title": "source portrait", "relationship": "parentOf", "instance_id": f"sha256:{portrait_hash}"}
    ]
    assert c2pa["soft_binding"]["algorithm"] == ALGORITHM
    assert int(c2pa["soft_binding"]["payload_hex"][:8], 16) == render.watermark_serial
    assert c2pa["consent"]["consent_id"] == str(render.consent_id)
    assert "Eileen" not in json.dumps(c2pa), "no personal data in the public manifest"
    assert c2pa["signed_at"]
    assert report["watermark"]["found"] and report["watermark"]["render_id"] == str(render.id)
    assert report["render"]["id"] == str(render.id) and report["render"]["consent_status"] == "active"
    assert any("signed by Candor" in line for line in report["explanation"])
    assert report["seconds"] < 2.0


def test_the_pipeline_stored_a_compact_fingerprint(render):
    from provenance.models import RenderFingerprint

    fingerprint = RenderFingerprint.objects.get(render=render).as_fingerprint()
    assert fingerprint.thumbnail.dtype == np.uint8 and max(fingerprint.thumbnail.shape) == 48
    assert (fingerprint.frame_height, fingerprint.frame_width) == (512, 512)


def test_the_fingerprint_is_kept_after_the_video_is_deleted(creator, portrait_jpeg, astronaut):
    from provenance.fingerprint import frame_luma
    from provenance.models import RenderFingerprint
    from provenance.services import render_fingerprint_store
    from studio.services import render_delete, render_enqueue

    portrait = portrait_with_active_consent(creator, portrait_jpeg)
    queued = render_enqueue(
        owner=creator, portrait=portrait, purpose="marketing", text="Hi.", language="en", dispatch=False
    )
    render_fingerprint_store(render=queued, mean_luma=frame_luma(astronaut))

    render_delete(render=queued)

    assert RenderFingerprint.objects.filter(render=queued).exists()


def test_a_stripped_re_encoded_copy_is_recovered_through_the_watermark(render, tmp_path):
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    copy = _reencoded(Path(render.video.path), tmp_path / "copy.mp4", crf=28)
    report = report_as_dict(video_verify(path=copy))

    assert report["c2pa"]["present"] is False
    assert report["verdict"] == "candor_generated"
    assert report["content_match"] is True
    assert report["watermark"]["render_id"] == str(render.id)
    assert any("No C2PA manifest" in line for line in report["explanation"])


def test_a_webm_copy_is_recognized_by_its_watermark(render, tmp_path):
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    copy = _reencoded(Path(render.video.path), tmp_path / "copy.webm", container="webm")
    report = report_as_dict(video_verify(path=copy))

    assert report["verdict"] == "candor_generated" and report["watermark"]["render_id"] == str(render.id)
    assert any("WebM" in line for line in report["explanation"])


def test_a_mov_remux_is_accepted_and_recognized(render, tmp_path):
    from verifier.services import video_verify

    mov = tmp_path / "copy.mov"
    with av.open(render.video.path) as reader, av.open(str(mov), "w", format="mov") as writer:
        streams = {stream.index: writer.add_stream_from_template(stream) for stream in reader.streams}
        for packet in reader.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            writer.mux(packet)

    report = video_verify(path=mov)

    assert report.verdict == "candor_generated" and report.watermark["render_id"] == str(render.id)


def test_flipped_media_bytes_are_reported_as_tampered(render, tmp_path):
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    data = bytearray(Path(render.video.path).read_bytes())
    start, size = top_level_box(bytes(data), b"mdat")
    for offset in range(start + size - 64, start + size - 32):
        data[offset] ^= 0xFF
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    report = report_as_dict(video_verify(path=tampered))

    assert report["c2pa"]["present"] and not report["c2pa"]["valid"]
    assert report["c2pa"]["tampered"] and report["c2pa"]["hash_binding_intact"] is False
    assert "assertion.bmffHash.mismatch" in report["c2pa"]["issues"]
    assert any("tampered" in line for line in report["explanation"])
    # The watermark still names the render, so the video is still recognized.
    assert report["verdict"] == "candor_generated"


def test_a_tampered_manifest_without_a_watermark_is_tampered_not_unknown(sample_mp4, tmp_path, settings):
    from provenance import keys
    from provenance.c2pa_manifest import mp4_sign
    from provenance.signer import local_signer
    from verifier.services import video_verify

    material = keys.signing_material_load_or_create(settings.KEYS_DIR)
    signed = tmp_path / "signed.mp4"
    mp4_sign(
        source=sample_mp4,
        destination=signed,
        signer=local_signer(material),
        trust_anchor_pem=material.root_certificate_pem,
        render_id="00000000-0000-0000-0000-000000000000",
        title="t",
        generator_version="0.1.0",
    )
    data = bytearray(signed.read_bytes())
    start, size = top_level_box(bytes(data), b"mdat")
    data[start + size // 2] ^= 0xFF
    signed.write_bytes(bytes(data))

    report = video_verify(path=signed)

    assert report.verdict == "tampered"
    assert report.c2pa["tampered"] is True


def test_a_watermark_copied_onto_someone_else_is_a_content_mismatch(render, grace_hopper, tmp_path):
    import cv2

    from provenance.services import _watermark_key
    from provenance.watermark import FrameWatermarker
    from verifier.report import report_as_dict
    from verifier.services import video_verify

    # The strongest copy attack: the real watermark (made with Candor's own key) on another person's video.
    other = cv2.resize(grace_hopper, (512, 512), interpolation=cv2.INTER_AREA)
    marker = FrameWatermarker(render.watermark_serial, _watermark_key())
    fake = tmp_path / "fake.mp4"
    media.mp4_write(fake, [marker.mark(other) for _ in range(20)], np.zeros(16000, np.float32), 16000)

    report = report_as_dict(video_verify(path=fake))

    assert report["watermark"]["found"] is True
    assert report["verdict"] == "content_mismatch"
    assert report["content_match"] is False
    assert report["render"] is None and report["watermark"]["render_id"] is None
    assert any("copied onto other content" in line for line in report["explanation"])


def test_unrelated_video_is_not_recognized_with_the_caveat(tmp_path, sample_mp4):
    from verifier.services import video_verify

    report = video_verify(path=sample_mp4)

    assert report.verdict == "not_recognized" and report.content_match is None
    assert any("not proof" in line for line in report.explanation)


def test_the_api_accepts_an_upload_and_a_share_link_to_this_site_only(render, public_api, settings):
    with open(render.video.path, "rb") as handle:
        upload = io.BytesIO(handle.read())
    upload.name = "from-a-friend.mp4"
    by_upload = public_api.post("/api/verify/", {"video": upload}, format="multipart")
    assert by_upload.status_code == 200 and by_upload.json()["verdict"] == "candor_generated"

    from studio.sharing import share_link_create

    token = share_link_create(render=render).token
    for link in (
        f"{settings.CANDOR_PUBLIC_URL}/watch/{token}/",
        f"{settings.CANDOR_PUBLIC_URL}/watch/{token}/video.mp4",
    ):
        by_link = public_api.post("/api/verify/", {"url": link}, format="json")
        assert by_link.status_code == 200, (link, by_link.json())
        assert by_link.json()["render"]["id"] == str(render.id)
    forged = public_api.post(
        "/api/verify/", {"url": f"{settings.CANDOR_PUBLIC_URL}/watch/forged-token/"}, format="json"
    )
    assert forged.status_code == 404

    foreign = public_api.post(
        "/api/verify/", {"url": f"https://evil.example/renders/{render.id}/video/"}, format="json"
    )
    assert foreign.status_code == 400 and foreign.json()["error"] == "foreign_url"
    not_a_video = public_api.post("/api/verify/", {"url": f"{settings.CANDOR_PUBLIC_URL}/admin/"}, format="json")
    assert not_a_video.status_code == 400 and not_a_video.json()["error"] == "invalid_url"


def test_the_verifier_follows_no_bare_render_path_and_no_revoked_share_link(render, public_api, settings):
    from studio.sharing import share_link_create, share_links_revoke

    for path in (f"/renders/{render.id}/video/", f"/api/renders/{render.id}/video/"):
        bare = public_api.post("/api/verify/", {"url": f"{settings.CANDOR_PUBLIC_URL}{path}"}, format="json")
        assert bare.status_code == 400 and bare.json()["error"] == "invalid_url", path
        assert "render" not in bare.json() and "consent" not in bare.content.decode(), "nothing about the render"

    token = share_link_create(render=render).token
    share_links_revoke(render=render)
    revoked = public_api.post("/api/verify/", {"url": f"{settings.CANDOR_PUBLIC_URL}/watch/{token}/"}, format="json")
    assert revoked.status_code == 404 and revoked.json()["error"] == "link_unknown"
    assert str(render.id) not in revoked.content.decode()


def test_the_verify_command_prints_the_same_report(render, capsys):
    call_command("verify", render.video.path)

    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "verdict: candor_generated"
    report = json.loads(printed[printed.index("{") :])
    assert report["render"]["id"] == str(render.id) and report["c2pa"]["trusted"]


def test_the_verify_command_refuses_a_missing_or_unreadable_file(tmp_path):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="is not a file"):
        call_command("verify", str(tmp_path / "missing.mp4"))
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video")
    with pytest.raises(CommandError, match="invalid_video"):
        call_command("verify", str(garbage))


def test_a_video_marked_before_a_watermark_key_rotation_still_reads(settings, tmp_path, astronaut):
    from provenance import keys
    from provenance.watermark import FrameWatermarker
    from verifier.services import video_verify

    settings.KEYS_DIR = tmp_path / "keys"
    old_key = keys.secret_load_or_create(settings.KEYS_DIR, "watermark")
    marker = FrameWatermarker(424242, old_key)
    video = tmp_path / "before-rotation.mp4"
    media.mp4_write(video, [marker.mark(astronaut) for _ in range(8)], np.zeros(8000, np.float32), 16000)

    keys.secret_rotate(settings.KEYS_DIR, "watermark")
    report = video_verify(path=video)

    assert report.watermark["found"] is True
    assert any("no render with its id is on record" in line for line in report.explanation)
