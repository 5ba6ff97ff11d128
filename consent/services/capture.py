"""The live capture: refuse stills, Candor's own renders and clips that do not answer the challenge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from core.errors import ApplicationError, ErrorCode
from inference import faces, media, recognition, sandbox
from inference.errors import InferenceError

from .. import face_match, liveness, pace
from ..flash import flash_response
from ..portrait_copy import portrait_copy_check
from .live import LiveStream

# Frames read for Candor's own watermark in a capture (a Candor render carries it in every frame), all folded before
# the one decode attempt: a genuine capture has no mark, so an earlier attempt on fewer frames is only extra cost.
WATERMARK_FRAMES = 10

# Identity frames shown to a reviewer beside the portrait (with one frame per head turn).
KEY_IDENTITY_FRAMES = 2

# Refusals that show an attempt to pass someone else's face or a replay count towards locking the link.
COUNTED_REFUSALS = {
    ErrorCode.IDENTITY_MISMATCH,
    ErrorCode.CHALLENGE_NOT_ANSWERED,
    ErrorCode.LIP_SYNC_FAILED,
    ErrorCode.DIGITS_MISMATCH,
    ErrorCode.CANDOR_GENERATED_CAPTURE,
    ErrorCode.LIVENESS_NO_FACE,
    ErrorCode.CAPTURE_NOT_LIVE,
    ErrorCode.FLASH_NOT_REFLECTED,
    ErrorCode.PORTRAIT_COPY,
}
# A live capture's stream has about 15 video and 50 audio packets a second; more than this is not a 15-second capture.
MAX_PACKETS = 2_000


@dataclass(frozen=True)
class PortraitReference:
    """The portrait a capture must not be made from: its pixels as stored (RGB uint8) and its 68 landmarks."""

    image: np.ndarray
    landmarks: np.ndarray


@dataclass(frozen=True)
class CaptureCheck:
    """A live capture that answered its challenge: the face's median descriptor, what the clip showed, and a few of its
    frames as JPEGs (identity frames, then one per head turn) for a reviewer to see.

    frame_descriptors: one descriptor per identity frame described, compared with a face by
    face_match.capture_distance (all identity frames, or with capture_check's `accept` only as many as accept it).
    """

    descriptor: np.ndarray
    liveness: dict
    key_frames: tuple[bytes, ...] = ()
    frame_descriptors: tuple[np.ndarray, ...] = ()


def capture_check(
    *,
    capture: bytes,
    challenge: dict,
    english: bool = False,
    live: LiveStream | None = None,
    portrait: PortraitReference | None = None,
    accept: face_match.AcceptLine | None = None,
) -> CaptureCheck:
    """Refuse a still, a Candor-generated clip, or a clip that does not answer the challenge live; else the face's
    descriptor.

    english: the digits read aloud are recognized offline (pocketsphinx's English model) and must be the
    challenge's; in any language the lips must move with the recorded speech. The analysis runs in a child process
    under CPU and memory limits (CANDOR_CAPTURE_CPU_S, CANDOR_CAPTURE_MEMORY_MB): a video built to be expensive is
    refused with capture_too_costly instead of holding a web process.

    live: a live capture's stream (its bytes are `capture`): it must have arrived at the pace it was recorded and
    answer each prompt within a reaction time of its reveal, and its face must reflect the colour flash; `challenge`
    then holds its turns and digits. portrait: the capture's face must not be a warp of this portrait's pixels.
    accept: where the identity frames are compared with a known face, they are described only until they accept the
    capture by themselves (face_match.AcceptLine); else all of them are, and decide.
    """
    from provenance.keys import secret_load_or_create

    limits = sandbox.CostLimits(
        cpu_s=settings.CANDOR_CAPTURE_CPU_S,
        memory_mb=settings.CANDOR_CAPTURE_MEMORY_MB,
        wall_s=settings.CANDOR_CAPTURE_WALL_S,
    )
    faces.models_load()
    if english:
        recognition.decoder_load()
    try:
        check = sandbox.run_limited(
            capture_analyse,
            limits=limits,
            capture=capture,
            challenge=challenge,
            english=english,
            live=live,
            portrait=portrait,
            accept=accept,
            watermark_key=secret_load_or_create(settings.KEYS_DIR, "watermark"),
        )
    except InferenceError as error:
        if error.code == "too_costly":
            raise ApplicationError(ErrorCode.CAPTURE_TOO_COSTLY, error.detail) from error
        raise ApplicationError(ErrorCode(error.code), error.detail) from error
    return check


def capture_analyse(
    *,
    capture: bytes,
    challenge: dict,
    english: bool,
    watermark_key: bytes,
    live: LiveStream | None = None,
    portrait: PortraitReference | None = None,
    accept: face_match.AcceptLine | None = None,
) -> CaptureCheck:
    """The analysis itself, pure computation on the bytes (it runs in the child): refusals are InferenceError whose
    code is an ErrorCode's value.
    """
    from provenance.watermark import watermark_read

    try:
        media.image_decode(capture, max_side=64)
    except InferenceError:
        pass
    else:
        raise InferenceError(
            ErrorCode.LIVENESS_REQUIRED,
            "a photo cannot prove that you are present; record a short video answering the challenge (camera, or a "
            "video file)",
        )
    stream_pace = _pace_check(capture, live) if live is not None else None
    try:
        clip = liveness.clip_decode(capture)
    except InferenceError as error:
        if error.code in ("video_too_large", "video_too_long", "too_costly"):
            raise InferenceError(ErrorCode.CAPTURE_TOO_COSTLY, error.detail) from error
        if error.code in ("invalid_audio", "silent_audio"):
            raise InferenceError(
                ErrorCode.LIVENESS_REQUIRED, "the video must have sound: read the digits aloud while you record"
            ) from error
        raise InferenceError(
            ErrorCode.LIVENESS_REQUIRED, f"the capture must be a short video answering the challenge: {error.detail}"
        ) from error
    reading = watermark_read(
        iter(clip.frames), watermark_key, max_frames=WATERMARK_FRAMES, attempt_at=(WATERMARK_FRAMES,)
    )
    if reading.found:
        raise InferenceError(
            ErrorCode.CANDOR_GENERATED_CAPTURE,
            "this video was generated by Candor; only a live recording of yourself is accepted",
        )
    turn_windows, digits_from_s = None, 0.0
    if live is not None and stream_pace is not None:
        turn_windows = [
            (
                stream_pace.media_time(revealed) - clip.start_s + liveness.MIN_REACTION_S,
                stream_pace.media_time(revealed) - clip.start_s + liveness.MAX_REACTION_S,
            )
            for revealed in live.turn_revealed_s
        ]
        digits_from_s = stream_pace.media_time(live.digits_revealed_s)
    result = liveness.clip_liveness(
        clip,
        turns=list(challenge.get("turns", [])),
        digits=challenge.get("digits") if english else None,
        turn_windows=turn_windows,
        digits_from_s=digits_from_s,
    )
    if result.failure is not None:
        raise InferenceError(ErrorCode(result.failure), result.detail)
    record = {**result.as_record(), "challenge": challenge.get("id"), "watermark_checked": True}
    if live is not None and stream_pace is not None:
        record["pace"] = stream_pace.as_record()
        flash = flash_response(
            clip.frames,
            clip.times + clip.start_s,
            result.landmarks,
            colours=live.flash["colours"],
            durations_ms=live.flash["durations_ms"],
            start_s=stream_pace.media_time(live.flash["revealed_s"]),
        )
        record["flash"] = flash.as_record()
        if not flash.passed:
            raise InferenceError(
                ErrorCode.FLASH_NOT_REFLECTED,
                "the screen's colours were not seen on your face; face the screen from arm's length in a room that "
                "is not brightly lit, and keep still while it flashes",
            )
    identity = liveness.identity_faces(clip, result)
    if not identity:
        raise InferenceError(
            ErrorCode.LIVENESS_NO_FACE,
            "no face could be measured in the capture; face the camera in good light",
        )
    if portrait is not None:
        copy = portrait_copy_check(
            portrait.image,
            portrait.landmarks,
            [clip.frames[index] for index, _face in identity],
            [face.landmarks for _index, face in identity],
        )
        record["portrait_copy"] = copy.as_record()
        if copy.copied:
            raise InferenceError(
                ErrorCode.PORTRAIT_COPY,
                "the face in the capture is the portrait's own picture, moved; only a live recording of yourself is "
                "accepted",
            )
    descriptors = identity_descriptors(clip, identity, accept)
    shown = list(result.identity_frames[:KEY_IDENTITY_FRAMES]) + list(result.turn_frames)
    return CaptureCheck(
        descriptor=np.median(np.stack(descriptors), axis=0),
        liveness=record,
        key_frames=tuple(media.image_encode_jpeg(clip.frames[index], quality=85) for index in shown),
        frame_descriptors=tuple(descriptors),
    )


def identity_descriptors(
    clip: liveness.Clip, identity: list[tuple[int, faces.Face]], accept: face_match.AcceptLine | None
) -> list[np.ndarray]:
    """The identity frames' descriptors: all of them, or with `accept`, the first BEST_FRAMES in one pass of the
    network and then one at a time, only until they accept the capture.
    """
    if accept is None:
        return faces.face_descriptors([(clip.frames[index], face) for index, face in identity])
    first = face_match.BEST_FRAMES
    descriptors = faces.face_descriptors([(clip.frames[index], face) for index, face in identity[:first]])
    for index, face in identity[first:]:
        if accept.accepted(descriptors):
            break
        descriptors.append(faces.face_descriptor(clip.frames[index], face))
    return descriptors


def portrait_reference(portrait) -> PortraitReference:
    """The stored portrait (a studio Portrait, read through its attributes) as the copy check needs it."""
    with portrait.image.open("rb") as handle:
        image = media.image_decode(handle.read(), max_side=max(portrait.width, portrait.height))
    return PortraitReference(image=image, landmarks=np.asarray(portrait.landmarks, dtype=np.float64))


def _pace_check(capture: bytes, live: LiveStream) -> pace.Pace:
    """Refuse a stream whose media did not arrive at the pace it was recorded: streamed faster, or held back."""
    try:
        packet_ends = media.packet_arrivals(capture, max_packets=MAX_PACKETS)
    except InferenceError as error:
        raise InferenceError(
            ErrorCode.LIVENESS_REQUIRED, f"the live check's stream could not be read: {error.detail}"
        ) from error
    stream_pace = pace.capture_pace(packet_ends, live.arrivals)
    if not stream_pace.passed:
        raise InferenceError(
            ErrorCode.CAPTURE_NOT_LIVE,
            "the video did not arrive as it was being recorded; a live check must come straight from the camera",
        )
    return stream_pace
