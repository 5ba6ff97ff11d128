"""manage.py demo_account: the demo creator `make run` offers, only on a plain-HTTP server bound to loopback."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from studio.accounts import DEMO_PASSWORD, DEMO_USERNAME, demo_account_ensure, demo_account_refusal


class Command(BaseCommand):
    help = (
        "Make the demo creator (username 'demo', password 'candor-demo') and print a new API token for it, but only "
        "when CANDOR_LOCAL_HTTP=1 and both CANDOR_HOST and CANDOR_PUBLIC_URL are loopback; otherwise say why not and "
        "make nothing."
    )

    def handle(self, *args, **options):
        refusal = demo_account_refusal(
            local_http=settings.LOCAL_HTTP,
            # The launcher's own default (config/launcher.py).
            host=os.environ.get("CANDOR_HOST", "127.0.0.1"),
            public_url=settings.CANDOR_PUBLIC_URL,
        )
        if refusal is not None:
            self.stdout.write(f"No demo account: {refusal}.")
            return
        token = demo_account_ensure()
        self.stdout.write(f"Demo creator: username '{DEMO_USERNAME}', password '{DEMO_PASSWORD}'. New API token:")
        self.stdout.write(token)
