"""manage.py render: run the same consent-gated render pipeline in the foreground with a progress bar."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from consent.models import Purpose
from core.errors import ApplicationError
from core.parsers import uuid_or_none
from studio.models import Portrait, Render
from studio.services import render_enqueue, render_run


class Command(BaseCommand):
    help = "Render a talking video of a consented portrait to an MP4 file (refuses without active consent)."

    def add_arguments(self, parser):
        parser.add_argument("--portrait", required=True, help="portrait id")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--audio", type=Path, help="speech audio file (WAV, MP3, OGG, FLAC, M4A)")
        source.add_argument("--text", help="text to speak")
        parser.add_argument("--language", default="", help="language code of --text (e.g. en, de, fr)")
        parser.add_argument("--purpose", default="personal", choices=Purpose.values)
        parser.add_argument(
            "--no-label",
            action="store_true",
            help="omit the visible AI-generated label (refused unless the person pictured allowed it)",
        )
        parser.add_argument("--out", type=Path, required=True, help="where to write the MP4")

    def handle(self, *args, portrait, audio, text, language, purpose, no_label, out, **options):
        found = Portrait.objects.filter(id=portrait, erased_at__isnull=True).first() if uuid_or_none(portrait) else None
        if found is None:
            raise CommandError(f"no portrait with id {portrait}")
        upload = None
        if audio is not None:
            if not audio.is_file():
                raise CommandError(f"audio file not found: {audio}")
            upload = SimpleUploadedFile(audio.name, audio.read_bytes())
        try:
            render = render_enqueue(
                owner=found.owner,
                portrait=found,
                purpose=purpose,
                text=text or "",
                language=language,
                audio=upload,
                label=not no_label,
                dispatch=False,
            )
        except ApplicationError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        with tqdm(total=100, unit="%", desc="rendering") as bar:

            def on_progress(progress):
                bar.update(round(progress * 100) - bar.n)

            render = render_run(render_id=render.id, on_progress=on_progress)
            bar.update(100 - bar.n)
        render.refresh_from_db()
        if render.status != Render.Status.DONE:
            raise CommandError(f"render {render.status}: {render.error}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(render.video.open("rb").read())
        self.stdout.write(f"render {render.id} written to {out}")
