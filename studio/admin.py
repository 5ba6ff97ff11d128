"""Admin of the creator app: DRF's plaintext token admin is withdrawn (API tokens are stored hashed: ApiToken)."""

from django.contrib import admin
from rest_framework.authtoken.models import TokenProxy

# A token made there would be stored in plain text and never authenticate.
admin.site.unregister(TokenProxy)
