"""manage.py issue_token: print a creator's API token (the last line is the token alone)."""

from django.core.management.base import BaseCommand, CommandError

from studio.accounts import creator_token


class Command(BaseCommand):
    help = "Print the API token of a creator; with --create, make the account first if it does not exist (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="create the creator if missing")
        parser.add_argument("--email", default="", help="email of a newly created creator")
        parser.add_argument("--password", default=None, help="password of a newly created creator (default: unusable)")

    def handle(self, *args, username, create, email, password, **options):
        try:
            token, created = creator_token(username=username, create=create, email=email, password=password)
        except LookupError as error:
            raise CommandError(str(error)) from error
        if created:
            self.stdout.write(f"Created creator '{username}'.")
        self.stdout.write(token)
