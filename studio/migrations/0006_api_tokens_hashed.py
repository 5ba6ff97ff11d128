"""Existing API tokens (DRF's plaintext authtoken table) become keyed hashes; the plaintext rows are deleted.

Clients keep working: the token they hold hashes to the stored digest.
"""

from django.db import migrations

from studio.accounts import api_token_digest


def api_tokens_hash(apps, schema_editor) -> None:
    plaintext_tokens = apps.get_model("authtoken", "Token")
    hashed_tokens = apps.get_model("studio", "ApiToken")
    for token in plaintext_tokens.objects.all():
        if hashed_tokens.objects.filter(user_id=token.user_id).exists():
            raise RuntimeError(f"user {token.user_id} has both a plaintext and a hashed API token; remove one first")
        hashed_tokens.objects.create(user_id=token.user_id, digest=api_token_digest(token.key))
    plaintext_tokens.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("studio", "0005_share_links_hashed_api_tokens"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    # Not reversible: the plaintext is gone by design.
    operations = [migrations.RunPython(api_tokens_hash, migrations.RunPython.noop)]
