"""Portraits: upload (screened against the registry), release from a hold, erase, and their cached rigs."""

from __future__ import annotations

import logging

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from consent.face_match import PortraitDescriptors, portrait_descriptors
from consent.services import registry_screen
from core.errors import ApplicationError, ErrorCode
from inference import faces, media
from inference.errors import InferenceError
from provenance.services import render_manifests_erase

from ..captions import captions_delete
from ..models import Portrait, Render
from .common import PORTRAIT_MAX_SIDE, as_application_error, read_upload

logger = logging.getLogger(__name__)


class FacesToChoose(ApplicationError):
    """MULTIPLE_FACES, with what the creator needs to pick one: the photo as decoded (RGB (H, W, 3)) and the faces'
    boxes (x, y, width, height) in its pixels, left to right."""

    def __init__(self, detail: str, *, pixels: np.ndarray, boxes: list[tuple[int, int, int, int]]):
        super().__init__(ErrorCode.MULTIPLE_FACES, detail)
        self.pixels, self.boxes = pixels, boxes


# The crop kept around a chosen face, in face-box sizes: the engine needs the whole head, some neck and air around it.
CROP_SIDE_MARGIN = 0.8
CROP_TOP_MARGIN = 0.9
CROP_BOTTOM_MARGIN = 1.1


def portrait_create(*, owner, image, subject_name: str, subject_email: str, face_index: int | None = None) -> Portrait:
    """Store a normalized portrait with exactly one detected face and its identity descriptor.

    A photo with several faces is refused with FacesToChoose unless `face_index` (0 = the leftmost face) picks one:
    the portrait stored is then the photo cropped around that face, with margin for the engine.
    """
    data = read_upload(image, max_bytes=settings.CANDOR_MAX_IMAGE_BYTES, what="image")
    pixels, face, descriptors = _portrait_measure(data, face_index=face_index)
    registry_screen(
        owner=owner,
        descriptors=descriptors,
        image_jpeg=media.image_encode_jpeg(pixels),
        subject_name=subject_name.strip(),
        subject_email=subject_email.strip().lower(),
    )
    return _portrait_save(
        owner=owner,
        pixels=pixels,
        face=face,
        descriptors=descriptors,
        subject_name=subject_name,
        subject_email=subject_email,
    )


def portrait_create_released(*, hold) -> Portrait:
    """The portrait of an upload that a reviewer released from a registry hold: a person settled its registry match."""
    with hold.image.open("rb") as handle:
        pixels, face, descriptors = _portrait_measure(handle.read())
    return _portrait_save(
        owner=hold.owner,
        pixels=pixels,
        face=face,
        descriptors=descriptors,
        subject_name=hold.subject_name,
        subject_email=hold.subject_email,
    )


def _portrait_measure(data: bytes, *, face_index: int | None = None):
    """(pixels, face, descriptors: its own and its mirror image's) of a photo with exactly one face (or the face
    `face_index` picks, cropped around it), or the refusal a creator can act on."""
    try:
        pixels = media.image_decode(data, max_side=PORTRAIT_MAX_SIDE)
        found = sorted(faces.faces_detect(pixels), key=lambda face: face.box[0])
        if len(found) > 1:
            if face_index is None or not 0 <= face_index < len(found):
                raise FacesToChoose(
                    f"{len(found)} faces were found; choose the one to animate, or use a photo of one person",
                    pixels=pixels,
                    boxes=[face.box for face in found],
                )
            pixels = _face_crop(
                pixels, found[face_index].box, others=[f.box for f in found if f is not found[face_index]]
            )
        face = faces.face_single(pixels)
        return pixels, face, portrait_descriptors(pixels, face)
    except InferenceError as error:
        raise as_application_error(error) from error


def _face_crop(
    pixels: np.ndarray, box: tuple[int, int, int, int], *, others: list[tuple[int, int, int, int]]
) -> np.ndarray:
    """The photo around one face box (x, y, width, height), with the CROP_* margins, clipped to the photo and, sideways,
    to the other faces' boxes (so that the crop shows one face)."""
    x, y, width, height = box
    left = max(0, round(x - CROP_SIDE_MARGIN * width), *(ox + ow for ox, _, ow, _ in others if ox + ow <= x))
    right = min(
        pixels.shape[1],
        round(x + width + CROP_SIDE_MARGIN * width),
        *(ox for ox, _, _, _ in others if ox >= x + width),
    )
    top = max(0, round(y - CROP_TOP_MARGIN * height))
    bottom = min(pixels.shape[0], round(y + height + CROP_BOTTOM_MARGIN * height))
    return np.ascontiguousarray(pixels[top:bottom, left:right])


def _portrait_save(
    *, owner, pixels, face, descriptors: PortraitDescriptors, subject_name: str, subject_email: str
) -> Portrait:
    portrait = Portrait(
        owner=owner,
        subject_name=subject_name.strip(),
        subject_email=subject_email.strip().lower(),
        width=pixels.shape[1],
        height=pixels.shape[0],
        face_box=list(face.box),
        landmarks=face.landmarks.round(1).tolist(),
        descriptor=descriptors.descriptor.tolist(),
        mirrored_descriptor=None if descriptors.mirrored is None else descriptors.mirrored.tolist(),
    )
    with transaction.atomic():
        portrait.image.save(f"{portrait.id}.jpg", ContentFile(media.image_encode_jpeg(pixels)), save=False)
        portrait.save()
    return portrait


def portrait_erase(*, portrait: Portrait) -> None:
    """Delete what shows or describes the person pictured: photo, descriptor, rigs, videos, thumbnails, titles,
    recordings, captions, and
    the renders' signed manifest stores (they carry the photo's hash).

    The rows stay, stripped to ids, dates and scope, so the verifier can still say a video's consent was erased.
    """
    renders = Render.objects.filter(portrait=portrait)
    render_manifests_erase(render_ids=renders.values_list("id", flat=True))
    for render in renders.exclude(video=""):
        render.video.delete(save=False)
    for render in renders.exclude(audio=""):
        render.audio.delete(save=False)
    for render in renders.exclude(thumbnail=""):
        render.thumbnail.delete(save=False)  # a frame of the face
    for render in renders:
        captions_delete(render_id=render.id)  # they hold the spoken words
    renders.update(video="", audio="", thumbnail="", text="", title="")
    if portrait.image:
        portrait.image.delete(save=False)
    portrait_rigs_delete(portrait=portrait)
    Portrait.objects.filter(id=portrait.id).update(
        image="",
        descriptor=[],
        mirrored_descriptor=None,
        landmarks=[],
        subject_name="",
        subject_email="",
        erased_at=timezone.now(),
    )


def _rig_cache_name(portrait: Portrait, max_side: int) -> str:
    from inference.rig import RIG_FORMAT

    return f"rigs/{portrait.id}-{max_side}-{RIG_FORMAT}.npz"


def portrait_rig_load(*, portrait: Portrait, max_side: int):
    """The portrait's animation rig at max_side, built once and kept in storage beside the photo.

    Face detection and the mesh cost most of a second; every later render,
    preview and language version of the portrait reads them back in milliseconds.
    """
    from inference.rig import portrait_rig, rig_from_bytes, rig_to_bytes

    name = _rig_cache_name(portrait, max_side)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            rig = rig_from_bytes(handle.read())
        if rig is not None:
            return rig
        default_storage.delete(name)
    with portrait.image.open("rb") as handle:
        rig = portrait_rig(media.image_decode(handle.read(), max_side=PORTRAIT_MAX_SIDE), max_side=max_side)
    try:
        default_storage.save(name, ContentFile(rig_to_bytes(rig)))
    except OSError:
        logger.warning("could not cache the rig of portrait %s", portrait.id, exc_info=True)
    return rig


def portrait_rigs_delete(*, portrait: Portrait) -> None:
    """Delete the portrait's cached rigs (they hold its face), e.g. when the person pictured has it erased."""
    if not default_storage.exists("rigs"):
        return
    for file_name in default_storage.listdir("rigs")[1]:
        if file_name.startswith(f"{portrait.id}-"):
            default_storage.delete(f"rigs/{file_name}")
