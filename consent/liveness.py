"""Liveness of a live capture: the challenge's head turns seen in the landmarks, lips moving with the recorded speech,
digits read aloud.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from inference import faces, media, recognition
from inference.errors import InferenceError

# The most a capture may ask of the decoder, read from its header before decoding and checked again while decoding.
# The challenge takes about 5 s to answer; webcams record at most 1080p and 60 frames a second.
CAPTURE_LIMITS = media.VideoLimits(
    max_long_side=1920,
    max_short_side=1080,
    max_duration_s=15.0,
    max_fps=60.0,
    codecs=frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}),
)
# Frames are analysed at no more than this rate: head turns and syllables are slower.
ANALYSIS_FPS = 15.0
# ...and at no more than this many pixels on their long side: the browser's 640x480 becomes 480x360, where a face at
# arm's length is still over 100 px (the detector finds faces from about 80 px). At 640 a 14 s face-filled capture
# cost about a quarter more processor time and kept twice the memory in frames (docs/consent.md, capture cost).
ANALYSIS_MAX_SIDE = 480
# The face is looked for again with the detector's 2x upsampling only in frames smaller than this (a small face in a
# small frame): on larger frames the upsampled search costs several times more and a selfie's face does not need it.
UPSAMPLE_BELOW_SIDE = 480
# The detector searches every this many frames (0.53 s at 15 fps), and wherever tracking is in doubt (a head turning
# included); the face is tracked in between: the search costs five times the landmark fit alone. Every 15th frame let
# a speaking mouth's fit drift (a file-path test clip then failed its lip sync). See inference.faces.faces_track for how
# a face swapped in between is still seen.
DETECT_EVERY = 8
# Yaw is the nose tip's position between the cheek contours (-1 .. 1); pitch the nose tip's drop below
# the eyes in eye-to-eye distances (about 0.8 frontal). On a rough 3-D face (nose tip 5 cm below the eyes
# and 2.5-3 cm in front of them and of the cheek contours, eyes 6.3 cm apart) a 20-25 degree turn moves yaw
# by ~0.3 and pitch by ~0.2; the thresholds sit well inside that and above what speaking without turning
# moved them on the test clips (yaw 0.09, pitch 0.07 peak to peak).
YAW_TURN = 0.12
PITCH_TURN = 0.08
# A live capture's turn must start (go past its threshold) this soon after its prompt was revealed, in media seconds:
# no sooner than a person can react, no later than a slow reaction plus the turn itself and the page's delays.
MIN_REACTION_S = 0.15
MAX_REACTION_S = 1.6
# A turn must hold this long to count, so landmark jitter between frames cannot make one.
MIN_TURN_S = 0.2
# Lip sync: the mouth opening must correlate with the speech loudness at a lag of at most this much...
SYNC_MAX_LAG_S = 0.25
SYNC_MIN_CORRELATION = 0.4
# ...and must actually open while speaking: inner-lip gap in eye-to-eye distances (speech opens it by 0.1-0.3),
# measured on the frames at least this loud (speech_loudness, 0..1) against the whole clip's closed mouth.
MOUTH_MIN_RANGE = 0.04
SPEAKING_LOUDNESS = 0.5
# Loudness is measured over about one syllable's nucleus; speech stands at least this far above the quiet parts.
LOUDNESS_WINDOW_S = 0.08
LOUDNESS_MIN_RANGE_DB = 10.0
# Frames compared with the portrait's descriptor (the most frontal, least open-mouthed ones).
IDENTITY_FRAMES = 5
# While the face is lost the detector searches as often as while it is tracked (the frames between are searched back
# once it is found again), and it searches at most 30 frames plus half of those read. Genuine answers need a fifth
# (a 14 s answer 38 of 210), but the tracking follows some faces less well: Grace Hopper's 11 s live answer needed 84
# of 165, at most 14 beyond half of those read so far. A video built so that no face is found, or so that each frame's
# face differs from the last, had every frame searched (about 5 s and 2.7 s of processor time for 14 s at 470 and
# 320 px; docs/consent.md).
SEARCH_LIMITS = faces.SearchLimits(lost_every=DETECT_EVERY, first_searches=30, max_share=0.5)
# Most frames must show a face: a clip that loses it cannot prove anything.
MIN_FACE_SHARE = 0.8
# More frames than this without a face leave too few with one in any capture the limits accept (at most 15 s at
# ANALYSIS_FPS, one more for the rounding of the frame times).
MAX_MISSING_FACES = int((1 - MIN_FACE_SHARE) * (CAPTURE_LIMITS.max_duration_s * ANALYSIS_FPS + 1))


@dataclass(frozen=True)
class Clip:
    """A decoded capture: RGB uint8 frames (H, W, 3) with their times in seconds and the face found in each, and mono
    float32 audio.
    """

    frames: tuple[np.ndarray, ...]
    times: np.ndarray  # (n,) float64 seconds
    audio: np.ndarray  # (N,) float32 at sample_rate
    sample_rate: int
    start_s: float = 0.0  # the media time of the first frame (times count from it)
    faces: tuple[faces.Face | None, ...] = ()  # (n,), None where no face was found
    detections: int = 0  # frames the face detector searched (the others were tracked)
    searched: frozenset[int] = frozenset()  # the frames whose face is the detector's best one, not a tracked one
    sized_searches: int = 0  # of the detections, those that looked only for faces the tracked one's size


@dataclass(frozen=True)
class Liveness:
    """What the clip showed; `failure` is None when it proves a live answer to the challenge."""

    failure: str | None  # liveness_no_face | challenge_not_answered | lip_sync_failed | digits_mismatch
    detail: str
    turns_seen: tuple[str, ...]
    lip_sync: float  # best correlation of mouth opening with speech loudness
    mouth_range: float
    frames: int
    identity_frames: tuple[int, ...]  # indices of the most frontal frames
    digits_heard: str | None = None  # the digits recognized in English speech; None when they were not checked
    turn_frames: tuple[int, ...] = ()  # for each turn seen, the index of the frame where it went furthest
    turn_onsets: tuple[float, ...] = ()  # for each turn seen, when (s) the head went past the turn's threshold
    # The face's 68 landmarks in each frame, None where no face was found (for the checks that follow).
    landmarks: tuple[np.ndarray | None, ...] = ()

    def as_record(self) -> dict:
        return {
            "passed": self.failure is None,
            "failure": self.failure,
            "turns_seen": list(self.turns_seen),
            "lip_sync": round(self.lip_sync, 3),
            "mouth_range": round(self.mouth_range, 4),
            "frames": self.frames,
            "digits_checked": self.digits_heard is not None,
            "digits_heard": self.digits_heard,
            "turn_onsets_s": [round(onset, 3) for onset in self.turn_onsets],
        }


def clip_decode(data: bytes) -> Clip:
    """Frames (at most ANALYSIS_FPS, at most ANALYSIS_MAX_SIDE pixels) with their times and faces, and the audio.

    The face is found as the frames are decoded (inference.faces.faces_track): a video without one stops decoding
    once more frames showed none than any capture the limits accept could lose (MAX_MISSING_FACES), and clip_liveness
    then refuses it.

    InferenceError when unreadable, or (video_too_large, video_too_long) beyond CAPTURE_LIMITS: checked on the
    container's header before any frame is decoded, and again on every decoded frame, since a header can lie; and
    too_costly where the face needs more searches than SEARCH_LIMITS allow.
    """
    header = media.video_header(data)
    media.video_check(header, CAPTURE_LIMITS)
    if not header.has_audio:
        raise InferenceError("invalid_audio", "the capture has no sound")
    # The sound first: it costs far less than the frames, and a capture without speech is refused before them.
    audio = media.audio_decode(data, max_seconds=CAPTURE_LIMITS.max_duration_s + 1)
    times: list[float] = []

    def timed() -> Generator[np.ndarray]:
        for at, frame in media.video_frames_bounded(
            data, limits=CAPTURE_LIMITS, fps=ANALYSIS_FPS, max_side=ANALYSIS_MAX_SIDE
        ):
            times.append(at)
            yield frame

    decoding = timed()
    try:
        track = faces.faces_track(
            decoding,
            detect=face_search,
            detect_every=DETECT_EVERY,
            max_missing=MAX_MISSING_FACES,
            limits=SEARCH_LIMITS,
        )
    finally:
        decoding.close()
    if len(track.frames) < 2 * ANALYSIS_FPS * MIN_TURN_S:
        raise InferenceError("invalid_video", "the capture is too short to answer the challenge")
    return Clip(
        frames=track.frames,
        times=np.asarray(times) - times[0],
        audio=audio,
        sample_rate=media.AUDIO_SAMPLE_RATE,
        start_s=float(times[0]),
        faces=track.faces,
        detections=track.detections,
        searched=track.searched,
        sized_searches=track.sized_searches,
    )


def face_search(frame: np.ndarray) -> list[faces.Face]:
    """The faces in one frame, best first: searched again with the detector's 2x upsampling only in a small frame."""
    found = faces.faces_detect(frame, upsample=0)
    if not found and max(frame.shape[:2]) < UPSAMPLE_BELOW_SIDE:
        found = faces.faces_detect(frame)
    return found


def identity_faces(clip: Clip, liveness: Liveness) -> list[tuple[int, faces.Face]]:
    """The detector's face on each identity frame that is the face tracked there, as (frame index, face).

    These frames decide whose face this is (the descriptor, the portrait-copy check), so each is searched by the
    detector rather than taken from tracking, and only the face whose turns and lips were checked counts: a frame
    whose tracked face the detector does not find is left out. A frame the tracking already searched keeps the face
    that search found (the detector's best, which is the tracked face there) instead of being searched twice.
    """
    chosen = []
    for index in liveness.identity_frames:
        tracked = liveness.landmarks[index]
        if tracked is None:
            continue
        tracked_face = clip.faces[index] if index < len(clip.faces) else None
        if index in clip.searched and tracked_face is not None and tracked_face.landmarks is tracked:
            chosen.append((index, tracked_face))
            continue
        face = _detected_where_tracked(clip.frames[index], tracked, tracked_face)
        if face is not None:
            chosen.append((index, face))
    return chosen


def _detected_where_tracked(
    frame: np.ndarray, tracked: np.ndarray, tracked_face: faces.Face | None
) -> faces.Face | None:
    """The best face the detector finds where the tracked landmarks (68, 2) are: looked for near the tracked face's
    size first (as faces_track does), then in the whole frame, then with the detector's 2x upsampling.
    """

    def where_tracked(found: list[faces.Face] | None) -> faces.Face | None:
        for face in found or []:
            overlap = faces.box_overlap(faces.landmarks_box(face.landmarks), faces.landmarks_box(tracked))
            if overlap >= faces.SAME_FACE_OVERLAP:
                return face
        return None

    if tracked_face is not None:
        sized = faces.faces_detect_sized(frame, min_width=faces.SIZED_SEARCH_SHARE * tracked_face.box[2])
        if (face := where_tracked(sized)) is not None:
            return face
    return where_tracked(faces.faces_detect(frame, upsample=0) or faces.faces_detect(frame))


def head_pose(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(yaw, pitch), each (n,), from the 68 landmarks of n frames (n, 68, 2): yaw > 0 when the person turns to their own
    left, pitch falls looking up.

    Ratios of landmark positions rather than a fitted 3-D model: they need no camera intrinsics and
    a turn changes them monotonically; only changes against the clip's own frontal pose are used.
    """
    left_cheek = landmarks[:, 0:3, 0].mean(axis=1)
    right_cheek = landmarks[:, 14:17, 0].mean(axis=1)
    nose_tip = landmarks[:, 30]
    yaw = 2 * (nose_tip[:, 0] - left_cheek) / np.maximum(right_cheek - left_cheek, 1e-6) - 1
    # Against the eyes, not the chin: the chin drops with every syllable, the eyes and nose do not.
    right_eye, left_eye = landmarks[:, 36:42].mean(axis=1), landmarks[:, 42:48].mean(axis=1)
    eyes_apart = np.maximum(np.linalg.norm(left_eye - right_eye, axis=1), 1e-6)
    pitch = (nose_tip[:, 1] - (right_eye[:, 1] + left_eye[:, 1]) / 2) / eyes_apart
    return yaw.astype(np.float64), pitch.astype(np.float64)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap (mean of three pairs) in eye-to-eye distances, (n,), from the landmarks of n frames (n, 68, 2).

    The eyes' distance does not change as the jaw moves or the head nods, so nods do not read as speech.
    """
    gap = np.linalg.norm(landmarks[:, [61, 62, 63]] - landmarks[:, [67, 66, 65]], axis=2).mean(axis=1)
    eyes_apart = np.linalg.norm(landmarks[:, 42:48].mean(axis=1) - landmarks[:, 36:42].mean(axis=1), axis=1)
    return (gap / np.maximum(eyes_apart, 1e-6)).astype(np.float64)


def turns_seen(times: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> tuple[str, ...]:
    """The sequence of head turns held at least MIN_TURN_S, from pose series (n,) against the clip's frontal pose."""
    return tuple(turn for turn, _onset in turn_onsets(times, yaw, pitch))


def turn_onsets(times: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> list[tuple[str, float]]:
    """Each head turn held at least MIN_TURN_S, with the time (s) the head first went past the turn's threshold."""
    frontal_yaw, frontal_pitch = frontal_pose(yaw, pitch)
    yaw_change = (yaw - frontal_yaw) / YAW_TURN
    pitch_change = (pitch - frontal_pitch) / PITCH_TURN
    labels = []
    for dy, dp in zip(yaw_change, pitch_change, strict=False):
        if max(abs(dy), abs(dp)) < 1:
            labels.append("")
        elif abs(dy) >= abs(dp):
            labels.append("left" if dy > 0 else "right")
        else:
            labels.append("up" if dp < 0 else "down")
    turns: list[tuple[str, float]] = []
    start = 0
    for index in range(1, len(labels) + 1):
        if index == len(labels) or labels[index] != labels[start]:
            end_time = times[index] if index < len(times) else times[-1] + (times[-1] - times[-2])
            held = end_time - times[start] >= MIN_TURN_S
            if labels[start] and held and (not turns or turns[-1][0] != labels[start]):
                turns.append((labels[start], float(times[start])))
            start = index
    return turns


def frontal_pose(yaw: np.ndarray, pitch: np.ndarray) -> tuple[float, float]:
    """The (yaw, pitch) the face holds longest, from pose series (n,): its frontal pose, wherever in the clip it is.

    Each sample's neighbours are those within half a turn's threshold of it; the pose is the median of the largest
    such group. A person answering a challenge faces the camera most of the time, before, between and after the turns,
    so this holds whether they turn at once or wait; a stream can pass the samples before its first prompt instead.
    """
    near = (np.abs(yaw[:, None] - yaw[None, :]) < YAW_TURN / 2) & (
        np.abs(pitch[:, None] - pitch[None, :]) < PITCH_TURN / 2
    )
    group = near[int(np.argmax(near.sum(axis=1)))]
    return float(np.median(yaw[group])), float(np.median(pitch[group]))


def neutral_frames(yaw: np.ndarray, pitch: np.ndarray, opening: np.ndarray) -> np.ndarray:
    """Indexes of the IDENTITY_FRAMES frames (of pose and mouth-opening series (n,)) nearest the portrait's likely
    look: frontal, then with the mouth closest to closed.

    Frames within half a turn's threshold of the frontal pose come first, however open their mouth: a turned or nodding
    head foreshortens the lips, so its mouth reads as more closed, but it is a worse likeness of a frontal portrait
    (a nodding frame measured 0.49-0.50 from the portrait where the same clip's frontal frames measured 0.39).
    """
    frontal_yaw, frontal_pitch = frontal_pose(yaw, pitch)
    turned = np.maximum(np.abs(yaw - frontal_yaw) / YAW_TURN, np.abs(pitch - frontal_pitch) / PITCH_TURN)
    neutral = turned + opening / MOUTH_MIN_RANGE
    return np.lexsort((neutral, turned >= 0.5))[:IDENTITY_FRAMES]


def audio_energy(audio: np.ndarray) -> np.ndarray:
    """(N + 1,) running sum of the squared samples of mono audio (N,): any window's mean square in two look-ups, so
    the audio is summed once for all of lip_sync's lags and the mouth's range.
    """
    return np.concatenate([[0.0], np.cumsum(np.asarray(audio, np.float64) ** 2)])


def speech_loudness(energy: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """Loudness 0..1 around each time (n,) of mono audio given by its running energy (audio_energy): RMS in dB between
    the clip's quiet floor and its speech peak.

    Syllables are where the jaw opens, so this is what a speaking mouth's opening follows.
    """
    size = energy.size - 1
    half = int(LOUDNESS_WINDOW_S * sample_rate / 2)
    centres = np.round(np.asarray(times) * sample_rate).astype(int)
    starts = np.clip(centres - half, 0, size)
    ends = np.clip(centres + half, 0, size)
    mean_square = (energy[ends] - energy[starts]) / np.maximum(ends - starts, 1)
    db = 10 * np.log10(np.maximum(mean_square, 1e-12))
    floor, peak = np.percentile(db, 10), np.percentile(db, 98)
    if peak - floor < LOUDNESS_MIN_RANGE_DB:
        return np.zeros(len(centres))
    return np.clip((db - floor) / (peak - floor), 0.0, 1.0)


def lip_sync(times: np.ndarray, opening: np.ndarray, energy: np.ndarray, sample_rate: int) -> float:
    """Best Pearson correlation (-1..1) between mouth opening (n,) at `times` and the speech loudness (the audio's
    running energy, audio_energy), over lags up to SYNC_MAX_LAG_S.
    """
    if np.std(opening) < 1e-6:
        return 0.0
    best = -1.0
    for lag in np.arange(-SYNC_MAX_LAG_S, SYNC_MAX_LAG_S + 1e-9, 0.02):
        loudness = speech_loudness(energy, sample_rate, times + lag)
        if np.std(loudness) < 1e-6:
            continue
        best = max(best, float(np.corrcoef(opening, loudness)[0, 1]))
    return best


def speaking_mouth_range(times: np.ndarray, opening: np.ndarray, energy: np.ndarray, sample_rate: int) -> float:
    """How far the mouth opens while the clip speaks: the 90th percentile of the opening (n,) at `times` over the
    frames where the speech (the audio's running energy, audio_energy) is loud (SPEAKING_LOUDNESS), above the 5th
    percentile over all frames.

    Not the whole clip's 95th percentile: the digits are read in a second or two of a 10-15 s capture, so that fell
    between syllables when the reading was short or the browser dropped frames (a genuine capture through Chromium on
    a loaded machine measured 0.03, under the line). Where fewer than three frames are loud, the whole clip's range.
    """
    loud = speech_loudness(energy, sample_rate, times) >= SPEAKING_LOUDNESS
    closed = float(np.percentile(opening, 5))
    if loud.sum() < 3:
        return float(np.percentile(opening, 95)) - closed
    return float(np.percentile(opening[loud], 90)) - closed


def clip_liveness(
    clip: Clip,
    *,
    turns: list[str],
    digits: str | None = None,
    turn_windows: list[tuple[float, float]] | None = None,
    digits_from_s: float = 0.0,
) -> Liveness:
    """Check that the clip answers the challenge's `turns` with a live, speaking face.

    digits: the challenge's digits ("4 7 2") when the person reads them in English, checked against the
    speech with the offline recognizer; None for other languages, where only the lips' sync with the speech is checked.
    turn_windows: for a live capture, the (earliest, latest) media second each turn may start: after its prompt was
    revealed, within a person's reaction time. digits_from_s: the digits must be read after this media second (when
    they were revealed); the sound before it is not listened to.
    """
    count = len(clip.frames)
    landmarks = tuple(None if face is None else face.landmarks for face in clip.faces)
    present = [index for index, points in enumerate(landmarks) if points is not None]
    if len(present) < MIN_FACE_SHARE * count:
        return Liveness(
            "liveness_no_face",
            "the face must stay in view for the whole capture; face the camera in good light",
            (),
            0.0,
            0.0,
            count,
            (),
        )
    times = clip.times[present]
    seen_landmarks = np.stack([points for points in landmarks if points is not None]).astype(np.float64)
    yaw, pitch = head_pose(seen_landmarks)
    opening = mouth_opening(seen_landmarks)
    onsets = turn_onsets(times, yaw, pitch)
    seen = tuple(turn for turn, _onset in onsets)
    energy = audio_energy(clip.audio)
    sync = lip_sync(times, opening, energy, clip.sample_rate)
    mouth_range = speaking_mouth_range(times, opening, energy, clip.sample_rate)
    identity_frames = tuple(int(present[i]) for i in sorted(neutral_frames(yaw, pitch, opening)))
    failure, detail = None, "live"
    if list(seen) != list(turns):
        failure = "challenge_not_answered"
        shown = ", ".join(seen) or "none"
        detail = (
            f"the head turns in the capture ({shown}) do not answer the challenge ({', '.join(turns)}); reload "
            "and try again"
        )
    elif turn_windows is not None and not all(
        earliest <= onset <= latest for (_turn, onset), (earliest, latest) in zip(onsets, turn_windows, strict=True)
    ):
        failure = "challenge_not_answered"
        detail = "turn your head only when the page asks, and as soon as it asks; try again"
    elif mouth_range < MOUTH_MIN_RANGE or sync < SYNC_MIN_CORRELATION:
        failure = "lip_sync_failed"
        detail = "the lips in the capture do not move with its speech; read the digits aloud while facing the camera"
    heard = None
    if failure is None and digits is not None:
        heard_from = int(max(digits_from_s, 0.0) * clip.sample_rate)
        check = recognition.digits_check(clip.audio[heard_from:], clip.sample_rate, digits)
        heard = check.heard
        if not check.passed:
            failure = "digits_mismatch"
            detail = (
                "the digits you read did not match the ones shown; read them aloud in English, one by one, and "
                "try again"
            )
    turn_frames = tuple(int(present[i]) for i in turn_peaks(seen, yaw, pitch))
    return Liveness(
        failure,
        detail,
        seen,
        sync,
        mouth_range,
        count,
        identity_frames,
        heard,
        turn_frames,
        tuple(onset for _turn, onset in onsets),
        landmarks,
    )


def turn_peaks(seen: tuple[str, ...], yaw: np.ndarray, pitch: np.ndarray) -> list[int]:
    """For each turn in `seen`, the position in the pose series (n,) where the head went furthest that way: the frames
    a reviewer looks at to see the turns.
    """
    frontal_yaw, frontal_pitch = frontal_pose(yaw, pitch)
    change = {
        "left": yaw - frontal_yaw,
        "right": frontal_yaw - yaw,
        "up": frontal_pitch - pitch,
        "down": pitch - frontal_pitch,
    }
    return [int(np.argmax(change[turn])) for turn in seen]
