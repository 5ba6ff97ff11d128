"""manage.py audit_verify: check the consent audit log's hash chain and Ed25519 signatures, naming the first
bad entry.
"""

from django.core.management.base import BaseCommand, CommandError

from consent.audit_log import audit_log_first_fault
from consent.models import ConsentEvent


class Command(BaseCommand):
    help = (
        "Verify every consent audit-log entry in order: its hash covers its content and the previous entry's hash, "
        "and its signature verifies with Candor's consent key. Exits non-zero naming the first bad entry."
    )

    def handle(self, *args, **options):
        fault = audit_log_first_fault()
        if fault is not None:
            raise CommandError(f"audit log entry {fault.entry_id} is bad: {fault.reason}")
        self.stdout.write(f"audit log intact: {ConsentEvent.objects.count()} entries, chain and signatures verified")
