"""
Seed the bench database with active secrets, sealed exactly as the app seals them.

Usage (with the bench's environment, DJANGO_SETTINGS_MODULE=onetime.settings):
    python bench/seed.py secrets COUNT IDS_FILE

Writes one id per line to IDS_FILE. Run by bench/run.py, not by hand.
"""

import sys
import uuid
from datetime import timedelta
from pathlib import Path

import django


def seed_secrets(count: int, ids_file: Path) -> None:
    import hashlib
    import secrets as random_tokens

    from django.conf import settings
    from django.utils import timezone

    from onetime.vault import crypto
    from onetime.vault.models import Secret

    now = timezone.now()
    plaintext = b"correct horse battery staple"
    ids: list[str] = []
    batch: list[Secret] = []
    for _ in range(count):
        secret_id = uuid.uuid4()
        token = random_tokens.token_urlsafe(24)
        batch.append(
            Secret(
                id=secret_id,
                ciphertext=crypto.seal(
                    plaintext,
                    secret_id=secret_id,
                    keys=settings.ONETIME_ENCRYPTION_KEYS,
                    passphrase=None,
                ),
                receipt_hash=hashlib.sha256(token.encode()).hexdigest(),
                created_at=now,
                expires_at=now + timedelta(hours=6),
            )
        )
        ids.append(str(secret_id))
        if len(batch) == 5000:
            Secret.objects.bulk_create(batch)
            batch.clear()
    Secret.objects.bulk_create(batch)
    ids_file.write_text("\n".join(ids) + "\n")


def main() -> None:
    django.setup()
    kind, count, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    if kind != "secrets":
        raise SystemExit(f"unknown kind {kind!r}")
    seed_secrets(count, path)


if __name__ == "__main__":
    main()
