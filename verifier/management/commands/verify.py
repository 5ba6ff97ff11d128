"""`manage.py verify FILE`: the public verifier's report for a local video file."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.errors import InferenceError
from verifier.report import report_as_dict
from verifier.services import video_verify


class Command(BaseCommand):
    help = (
        "Check a video file the way the public verifier does: C2PA manifest, Candor's invisible watermark, "
        "whether the picture is the render's own, and the consent status now. Prints the explanation, then the JSON "
        "report."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="an MP4, MOV or WebM video")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            report = report_as_dict(video_verify(path=path))
        except InferenceError as error:
            raise CommandError(f"{error.code}: {error.detail}") from error
        self.stdout.write(f"verdict: {report['verdict']}")
        for line in report["explanation"]:
            self.stdout.write(f"- {line}")
        self.stdout.write(json.dumps(report, indent=2))
