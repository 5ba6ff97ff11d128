"""manage.py consent_expire: expire consents past their end date (stopping their renders) and unanswered links (run it
from
cron).
"""

from django.core.management.base import BaseCommand

from consent.services import consent_links_expire_due, consent_reviews_expire_due, consents_expire_due


class Command(BaseCommand):
    help = (
        "Mark every active consent past its end date expired, cancel its queued and running renders and log it. "
        "The render gate does the same for one portrait whenever it is asked; this catches the ones nobody asks about. "
        "Also marks pending requests whose link has expired (CANDOR_CONSENT_LINK_DAYS) expired, so creators see them "
        "unanswered, and expires approvals left undecided in human review for 30 days (their captures deleted)."
    )

    def handle(self, *args, **options):
        self.stdout.write(
            f"{consents_expire_due()} consents expired; {consent_links_expire_due()} unanswered consent links expired; "
            f"{consent_reviews_expire_due()} undecided reviews expired"
        )
