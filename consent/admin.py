"""Staff views: uploads held by the do-not-generate registry, and risky consent approvals, wait here for a person to
review them.
"""

import base64

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from core.errors import ApplicationError

from .models import ConsentReview, RegistryHold
from .services import consent_review_decide, registry_hold_release, review_key_frames


@admin.register(RegistryHold)
class RegistryHoldAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "distance", "status", "created_at", "reviewed_by")
    list_filter = ("status",)
    readonly_fields = (
        "owner",
        "entry",
        "distance",
        "held_photo",
        "subject_name",
        "subject_email",
        "status",
        "created_at",
        "reviewed_at",
        "reviewed_by",
        "review_note",
        "portrait",
    )
    exclude = ("image",)
    actions = ("release", "refuse")

    @admin.display(description="photo")
    def held_photo(self, hold: RegistryHold) -> str:
        # Media is never served by URL, so the reviewer sees the held photo inline.
        if not hold.image:
            return "deleted after review"
        with hold.image.open("rb") as handle:
            return format_html(
                '<img src="data:image/jpeg;base64,{}" style="max-width:320px">',
                base64.b64encode(handle.read()).decode(),
            )

    @admin.action(
        description="Release: the face is not the registered one; the portrait goes ahead", permissions=["change"]
    )
    def release(self, request, queryset):
        self._review(request, queryset, "release")

    @admin.action(description="Refuse: the face is the registered one; the block stands", permissions=["change"])
    def refuse(self, request, queryset):
        self._review(request, queryset, "refuse")

    def _review(self, request, queryset, decision: str) -> None:
        for hold in queryset:
            try:
                reviewed = registry_hold_release(
                    hold=hold, reviewer=request.user, decision=decision, note="reviewed in the admin"
                )
            except ApplicationError as error:
                self.message_user(request, f"{hold}: {error.detail}", level=messages.ERROR)
            else:
                self.message_user(request, f"{reviewed}: the creator was told")


def _jpeg_inline(data: bytes) -> str:
    return format_html(
        '<img src="data:image/jpeg;base64,{}" style="max-width:240px;margin-right:4px">',
        base64.b64encode(data).decode(),
    )


@admin.register(ConsentReview)
class ConsentReviewAdmin(admin.ModelAdmin):
    list_display = ("id", "consent", "reasons", "decision", "created_at", "reviewer")
    list_filter = ("decision",)
    readonly_fields = (
        "consent",
        "reasons",
        "portrait_and_frames",
        "figures_table",
        "decision",
        "created_at",
        "decided_at",
        "reviewer",
        "note",
    )
    exclude = ("capture", "key_frames", "figures")
    actions = ("approve", "refuse")

    @admin.display(description="portrait | key frames of the capture")
    def portrait_and_frames(self, review: ConsentReview) -> str:
        # Media is never served by URL: the portrait and the decrypted frames are shown inline, side by side.
        portrait = review.consent.portrait
        shown = []
        if portrait.image:
            with portrait.image.open("rb") as handle:
                shown.append(_jpeg_inline(handle.read()))
        frames = review_key_frames(review)
        shown.extend(_jpeg_inline(frame) for frame in frames)
        if not frames:
            shown.append("capture deleted after the decision")
        return format_html_join("", "{}", ((item,) for item in shown))

    @admin.display(description="figures")
    def figures_table(self, review: ConsentReview) -> str:
        rows = _figure_rows(review.figures)
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.action(
        description="Approve: the capture shows the person pictured, live; the consent becomes active",
        permissions=["change"],
    )
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description="Refuse: the capture does not convince; the consent is declined", permissions=["change"])
    def refuse(self, request, queryset):
        self._decide(request, queryset, "refuse")

    def _decide(self, request, queryset, decision: str) -> None:
        for review in queryset:
            try:
                decided = consent_review_decide(
                    review=review, reviewer=request.user, decision=decision, note="decided in the admin"
                )
            except ApplicationError as error:
                self.message_user(request, f"{review}: {error.detail}", level=messages.ERROR)
            else:
                self.message_user(request, f"{decided}: the person and the creator were told")


def _figure_rows(figures: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Every figure as (name, value) rows, nested records (the liveness record) flattened as `liveness.lip_sync`."""
    rows: list[tuple[str, object]] = []
    for name, value in figures.items():
        if isinstance(value, dict):
            rows.extend(_figure_rows(value, f"{prefix}{name}."))
        else:
            rows.append((f"{prefix}{name}", value))
    return rows
