"""Creator actions, one module per topic; the names callers use are re-exported here.

- `portraits`: upload (screened against the registry), release from a hold, erase, cached rigs.
- `renders`: enqueue (gated by consent), localize, preview, cancel, delete, live renders, clean-up.
- `output`: the output's shape, titles and thumbnails in the library.
- `rendering`: the worker side of a render (speech, animation, marking, encoding, signing).
"""

from .common import (
    IDEMPOTENCY_KEY_MAX_CHARS,
    LOCALIZATION_MAX_VERSIONS,
    PORTRAIT_MAX_SIDE,
    PREVIEW_SECONDS,
    RenderCancelled,
    RenderOverBudget,
)
from .output import render_output_shape, render_thumbnail_save, render_title_update
from .portraits import (
    FacesToChoose,
    portrait_create,
    portrait_create_released,
    portrait_erase,
    portrait_rig_load,
    portrait_rigs_delete,
)
from .rendering import render_run, worker_thread_deprioritize
from .renders import (
    live_render_finish,
    live_render_start,
    render_delete,
    render_enqueue,
    render_mark_failed,
    render_preview,
    renders_cancel_for_consent,
    renders_localize,
    renders_undispatched_dispatch,
    uploads_abandoned_delete,
)

__all__ = [
    "FacesToChoose",
    "IDEMPOTENCY_KEY_MAX_CHARS",
    "LOCALIZATION_MAX_VERSIONS",
    "PORTRAIT_MAX_SIDE",
    "PREVIEW_SECONDS",
    "RenderCancelled",
    "RenderOverBudget",
    "live_render_finish",
    "live_render_start",
    "portrait_create",
    "portrait_create_released",
    "portrait_erase",
    "portrait_rig_load",
    "portrait_rigs_delete",
    "render_delete",
    "render_enqueue",
    "render_mark_failed",
    "render_output_shape",
    "render_preview",
    "render_run",
    "render_thumbnail_save",
    "render_title_update",
    "renders_cancel_for_consent",
    "renders_localize",
    "renders_undispatched_dispatch",
    "uploads_abandoned_delete",
    "worker_thread_deprioritize",
]
