"""manage.py consent_review: a reviewer's outcome for a consent approval held for human review."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from consent.models import ConsentReview
from consent.services import consent_review_decide
from core.errors import ApplicationError
from core.parsers import uuid_or_none


class Command(BaseCommand):
    help = (
        "Decide on a consent approval held for human review (CANDOR_CONSENT_REVIEW): --approve makes the consent "
        "active with the scope the person chose, --refuse declines it. The reviewer must be staff with permission to "
        "change consent reviews; the capture is deleted, the outcome logged and emailed to the person and the creator. "
        "See the key frames beside the portrait in the admin before deciding. "
        "Without a review id, lists the approvals waiting, with their reasons and match distance."
    )

    def add_arguments(self, parser):
        parser.add_argument("review", nargs="?", help="the review's id (as listed, or as in the staff email)")
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--approve", action="store_const", const="approve", dest="decision")
        decision.add_argument("--refuse", action="store_const", const="refuse", dest="decision")
        parser.add_argument("--reviewer", help="username of the staff member deciding")
        parser.add_argument("--note", default="", help="why (kept in the audit log, never in the receipt or emails)")

    def handle(self, *args, review=None, decision=None, reviewer=None, note="", **options):
        if review is None:
            waiting = ConsentReview.objects.filter(decision=ConsentReview.Decision.PENDING).select_related("consent")
            for held in waiting:
                self.stdout.write(
                    f"{held.id}  consent {held.consent_id}  distance {held.figures.get('match_distance')}  "
                    f"{', '.join(held.reasons)}  held {held.created_at:%Y-%m-%d %H:%M}"
                )
            return
        if decision is None or not reviewer:
            raise CommandError("give --approve or --refuse, and --reviewer")
        found = ConsentReview.objects.filter(id=review).first() if uuid_or_none(review) else None
        if found is None:
            raise CommandError(f"no consent review {review}")
        user = get_user_model().objects.filter(username=reviewer).first()
        if user is None:
            raise CommandError(f"no user named '{reviewer}'")
        try:
            decided = consent_review_decide(review=found, reviewer=user, decision=decision, note=note)
        except ApplicationError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(f"{decided}: consent {decided.consent_id}")
