"""Bilinear backward-mapping warps of frames, on OpenCV (CPU) or torch's grid_sample (CUDA), chosen by setting."""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import InferenceError

# "auto" runs torch on a CUDA GPU when torch sees one, else OpenCV on the CPU;
# "torch-cpu" runs the torch path on the CPU (to check it against OpenCV).
DEVICES = ("auto", "cpu", "cuda", "torch-cpu")
DEVICE_SETTING = "CANDOR_ENGINE_DEVICE"
# Frames warped per call: a GPU gains from warping many at once, OpenCV does not.
_TORCH_FRAMES_PER_BATCH = 16
_CUDA_DRIVERS = ("libcuda.so.1", "libcuda.so", "nvcuda.dll")


@dataclass(frozen=True)
class Warper:
    """Resamples images where each output pixel says where its content came from.

    device: "cpu" (OpenCV's remap) or "cuda" / "torch-cpu" (torch's grid_sample).
    Both interpolate bilinearly and reflect at the image border with the edge
    pixel repeated (OpenCV's BORDER_REFLECT); they agree to within a grey level
    or two (OpenCV quantises sampling positions to 1/32 px).
    """

    device: str

    @property
    def frames_per_batch(self) -> int:
        """How many frames the renderer should pose per call."""
        return 1 if self.device == "cpu" else _TORCH_FRAMES_PER_BATCH

    def warp(self, images: np.ndarray, displacements: np.ndarray, x: int, y: int) -> np.ndarray:
        """(B, h, w, 3) uint8 of images resampled by backward mapping over the box at (x, y) of displacements
        (B, h, w, 2).

        images: one (H, W, 3) uint8 shared by all B fields, or (B, H, W, 3) one
        per field. Output pixel (x + i, y + j) samples its image at itself less
        its (dx, dy) displacement.
        """
        h, w = displacements.shape[1:3]
        return self.remap(images, _pixel_grid(x, y, w, h) - displacements)

    def remap(self, images: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(B, h, w, 3) uint8 values of images at (B, h, w, 2) float32 (x, y) image points, bilinear.

        images: one (H, W, 3) uint8 shared by all B point sets, or (B, H, W, 3).
        """
        if self.device == "cpu":
            sampled = np.empty((*points.shape[:3], 3), np.uint8)
            for i, frame in enumerate(sampled):
                cv2.remap(
                    images if images.ndim == 3 else images[i],
                    points[i],
                    None,
                    cv2.INTER_LINEAR,
                    dst=frame,
                    borderMode=cv2.BORDER_REFLECT,
                )
            return sampled
        return _remap_torch(images, points, "cuda" if self.device == "cuda" else "cpu")


@functools.lru_cache(maxsize=2)
def _pixel_grid(x: int, y: int, w: int, h: int) -> np.ndarray:
    """(h, w, 2) float32 (x, y) of every pixel of the box at (x, y), read-only: a render warps the same two boxes (the
    face's, the head's) every frame, and building the grid took a tenth of the animation's time. Two are kept (up to
    about 8 MB at 1080 px)."""
    columns, rows = np.meshgrid(np.arange(x, x + w, dtype=np.float32), np.arange(y, y + h, dtype=np.float32))
    grid = np.stack([columns, rows], axis=-1)
    grid.flags.writeable = False
    return grid


def engine_warper(device: str | None = None) -> Warper:
    """The warper for device, one of DEVICES; None reads CANDOR_ENGINE_DEVICE, "auto" when unset.

    Raises InferenceError for an unknown device or one this machine lacks.
    """
    source = f"device {device!r}"
    if device is None:
        device = os.environ.get(DEVICE_SETTING, "").strip() or "auto"
        source = f"{DEVICE_SETTING}={device}"
    if device not in DEVICES:
        raise InferenceError("invalid_device", f"{source} is not an engine device; use one of {', '.join(DEVICES)}")
    if device == "auto":
        return Warper("cuda" if _cuda_available() else "cpu")
    if device == "cuda" and not _cuda_available():
        raise InferenceError(
            "device_unavailable",
            f"{source} asks for a CUDA GPU, but torch finds none on this machine; "
            "use 'auto' or 'cpu' to render on the CPU",
        )
    if device == "torch-cpu" and not _torch_installed():
        raise InferenceError("device_unavailable", f"{source} needs torch, which is not installed; use 'cpu'")
    return Warper(device)


@functools.cache
def _cuda_available() -> bool:
    # Importing torch takes a second and much memory: skip it where no NVIDIA driver is installed.
    if not (_nvidia_driver_installed() and _torch_installed()):
        return False
    import torch

    return torch.cuda.is_available()


def _nvidia_driver_installed() -> bool:
    for library in _CUDA_DRIVERS:
        try:
            ctypes.CDLL(library)
        except OSError:
            continue
        return True
    return False


@functools.cache
def _torch_installed() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _remap_torch(images: np.ndarray, points: np.ndarray, device: str) -> np.ndarray:
    """(B, h, w, 3) uint8 of images (H, W, 3) or (B, H, W, 3) uint8 at points (B, h, w, 2) float32, on a torch device.

    With align_corners=False, grid_sample's -1 and 1 are the outer edges of the
    border pixels, so pixel centre i sits at (2i + 1) / size - 1 as in OpenCV,
    and "reflection" mirrors about those edges, repeating the edge pixel.
    """
    import torch
    import torch.nn.functional as functional

    with torch.inference_mode():
        source = torch.tensor(images, device=device)  # a copy: the rig's images are read-only
        source = (source[None] if source.ndim == 3 else source).permute(0, 3, 1, 2).float()
        height, width = source.shape[2:]
        grid = torch.tensor(points, dtype=torch.float32, device=device)
        scale = torch.tensor([2.0 / width, 2.0 / height], device=device)
        grid = (grid + 0.5) * scale - 1.0
        source = source.expand(len(grid), -1, -1, -1)
        sampled = functional.grid_sample(source, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        return (sampled + 0.5).clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
