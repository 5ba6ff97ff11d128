"""Staff views: uploads held by the do-not-generate registry wait here for a person to review them."""

from django.contrib import admin

from .models import RegistryHold


@admin.register(RegistryHold)
class RegistryHoldAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "distance", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("owner", "entry", "distance", "image", "subject_name", "subject_email", "created_at")
