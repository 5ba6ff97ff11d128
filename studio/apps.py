"""Django app config for the creator-facing studio: it subscribes to consent's signals and serves the verifier and
the person pictured's pages."""

from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent.videos import video_directory_register
        from verifier.directory import directory_register

        from .directory import StudioRenderDirectory, StudioVideoDirectory
        from .receivers import receivers_connect

        receivers_connect()
        directory_register(StudioRenderDirectory())
        video_directory_register(StudioVideoDirectory())
