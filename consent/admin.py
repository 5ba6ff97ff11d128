"""Staff views: uploads held by the do-not-generate registry wait here for a person to review them."""

import base64

from django.contrib import admin, messages
from django.utils.html import format_html

from core.errors import ApplicationError

from .models import RegistryHold
from .services import registry_hold_release


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
