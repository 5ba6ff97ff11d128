"""manage.py issue_token: make a creator's API token and print it, once (the last line is the token alone)."""

from django.core.management.base import BaseCommand, CommandError

from studio.accounts import creator_token


class Command(BaseCommand):
    help = (
        "Make and print a creator's API token. Only its hash is stored, so it is printed once: a creator who has one "
        "gets a new one only with --rotate (the old one stops working). With --create, make the account first if it "
        "does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="create the creator if missing")
        parser.add_argument("--rotate", action="store_true", help="replace an existing token with a new one")
        parser.add_argument("--email", default="", help="email of a newly created creator")
        parser.add_argument("--password", default=None, help="password of a newly created creator (default: unusable)")

    def handle(self, *args, username, create, rotate, email, password, **options):
        try:
            token, created = creator_token(
                username=username, create=create, rotate=rotate, email=email, password=password
            )
        except LookupError as error:
            raise CommandError(str(error)) from error
        if created:
            self.stdout.write(f"Created creator '{username}'.")
        if token is None:
            raise CommandError(
                f"'{username}' already has an API token, which cannot be shown again (only its hash is kept); "
                "use --rotate to replace it with a new one"
            )
        self.stdout.write(token)
