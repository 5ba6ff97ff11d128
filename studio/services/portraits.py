"""Portraits: upload (screened against the registry), release from a hold, erase, and their cached rigs."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from consent.face_match import PortraitDescriptors, portrait_descriptors
from consent.services import registry_screen
from inference import faces, media
from inference.errors import InferenceError
from provenance.services import render_manifests_erase

from ..captions import captions_delete
from ..models import Portrait, Render
from .common import PORTRAIT_MAX_SIDE, as_application_error, read_upload

logger = logging.getLogger(__name__)


def portrait_create(*, owner, image, subject_name: str, subject_email: str) -> Portrait:
    """Store a normalized portrait with exactly one detected face and its identity descriptor."""
    data = read_upload(image, max_bytes=settings.CANDOR_MAX_IMAGE_BYTES, what="image")
    pixels, face, descriptors = _portrait_measure(data)
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


def _portrait_measure(data: bytes):
    """(pixels, face, descriptors: its own and its mirror image's) of a photo with exactly one face, or the refusal a
    creator can act on."""
    try:
        pixels = media.image_decode(data, max_side=PORTRAIT_MAX_SIDE)
        face = faces.face_single(pixels)
        return pixels, face, portrait_descriptors(pixels, face)
    except InferenceError as error:
        raise as_application_error(error) from error


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
