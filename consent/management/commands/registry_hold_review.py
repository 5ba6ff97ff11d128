"""manage.py registry_hold_review: a reviewer's outcome for an upload the do-not-generate registry held."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from consent.models import RegistryHold
from consent.services import registry_hold_release
from core.errors import ApplicationError
from core.parsers import uuid_or_none


class Command(BaseCommand):
    help = (
        "Decide on a portrait upload held because it resembles a face in the do-not-generate registry: --release lets "
        "the "
        "portrait go ahead (the creator may then ask for consent), --refuse confirms the block and deletes the photo. "
        "The reviewer must be staff with permission to change registry holds; the outcome is logged and emailed to "
        "the creator. "
        "Without a hold id, lists the uploads waiting for review."
    )

    def add_arguments(self, parser):
        parser.add_argument("hold", nargs="?", help="the hold's id (the reference the creator was given)")
        decision = parser.add_mutually_exclusive_group()
        decision.add_argument("--release", action="store_const", const="release", dest="decision")
        decision.add_argument("--refuse", action="store_const", const="refuse", dest="decision")
        parser.add_argument("--reviewer", help="username of the staff member deciding")
        parser.add_argument("--note", default="", help="why (kept in the audit log, not shown to the creator)")

    def handle(self, *args, hold=None, decision=None, reviewer=None, note="", **options):
        if hold is None:
            for waiting in RegistryHold.objects.filter(status=RegistryHold.Status.HELD).select_related("owner"):
                self.stdout.write(
                    f"{waiting.id}  {waiting.owner.username}  distance {waiting.distance:.3f}  held "
                    f"{waiting.created_at:%Y-%m-%d %H:%M}"
                )
            return
        if decision is None or not reviewer:
            raise CommandError("give --release or --refuse, and --reviewer")
        found = RegistryHold.objects.filter(id=hold).first() if uuid_or_none(hold) else None
        if found is None:
            raise CommandError(f"no registry hold {hold}")
        user = get_user_model().objects.filter(username=reviewer).first()
        if user is None:
            raise CommandError(f"no user named '{reviewer}'")
        try:
            reviewed = registry_hold_release(hold=found, reviewer=user, decision=decision, note=note)
        except ApplicationError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(f"{reviewed}" + (f": portrait {reviewed.portrait_id}" if reviewed.portrait_id else ""))
