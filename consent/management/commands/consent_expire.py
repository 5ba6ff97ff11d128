"""manage.py consent_expire: mark consents past their end date expired and stop their renders (run it from cron)."""

from django.core.management.base import BaseCommand

from consent.services import consents_expire_due


class Command(BaseCommand):
    help = (
        "Mark every active consent past its end date expired, cancel its queued and running renders and log it. "
        "The render gate does the same for one portrait whenever it is asked; this catches the ones nobody asks about."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{consents_expire_due()} consents expired")
