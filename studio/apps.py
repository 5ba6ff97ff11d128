"""Django app config for the creator-facing studio: it subscribes to consent's signals and serves the verifier."""

from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from verifier.directory import directory_register

        from .directory import StudioRenderDirectory
        from .receivers import receivers_connect

        receivers_connect()
        directory_register(StudioRenderDirectory())
