"""
Encryption of secrets at rest.

Layout of a stored blob (all under AES-256-GCM with a 96-bit random nonce)::

    outer = version(1) | key_id(4) | nonce(12) | AESGCM(server_key, inner, aad)
    inner = 0x00 | plaintext                                       (no passphrase)
          | 0x01 | salt(16) | nonce(12) | AESGCM(argon2id(passphrase, salt), plaintext, aad)

The associated data binds the secret's id (and the outer header), so a ciphertext copied
onto another row does not decrypt. For a secret bound to a Telegram account the outer
layer's also names the account as the sender wrote it: a process that does not know the
binding (the previous release during an upgrade or after a rollback, which would reveal it
to anyone with the link) cannot decrypt it. ``key_id`` names which of ONETIME_ENCRYPTION_KEYS
sealed the blob: the first key encrypts, every key decrypts, which is how keys rotate.
The passphrase layer means that even the operator cannot read such a secret without it.
"""

import hashlib
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

VERSION = b"\x01"
_PLAIN = b"\x00"
_WITH_PASSPHRASE = b"\x01"
_NONCE = 12
_SALT = 16

# Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): tens of milliseconds
# per guess and 19 MiB each, paid only by secrets that have a passphrase.
_ARGON2_MEMORY_KIB = 19 * 1024
_ARGON2_ITERATIONS = 2


class DecryptionError(Exception):
    """The server cannot decrypt a blob: unknown key, or the data was tampered with."""


class PassphraseRequired(Exception):
    """The secret has a passphrase and none was given."""


class WrongPassphrase(Exception):
    """The passphrase does not open the inner layer."""


def key_id(key: bytes) -> bytes:
    """Return the 4-byte fingerprint that a blob records for the key that sealed it."""
    return hashlib.sha256(b"onetime key id\x00" + key).digest()[:4]


def _aad(secret_id: uuid.UUID, header: bytes = b"", telegram_recipient: str = "") -> bytes:
    # Nothing added without a recipient: blobs sealed before bound secrets existed still open.
    bound = b"\x00telegram " + telegram_recipient.encode() if telegram_recipient else b""
    return b"onetime secret\x00" + secret_id.bytes + header + bound


def _passphrase_key(passphrase: str, salt: bytes) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=_ARGON2_ITERATIONS,
        lanes=1,
        memory_cost=_ARGON2_MEMORY_KIB,
    )
    return kdf.derive(passphrase.encode("utf-8"))


def seal(
    plaintext: bytes,
    *,
    secret_id: uuid.UUID,
    keys: list[bytes],
    passphrase: str | None,
    telegram_recipient: str = "",
) -> bytes:
    """
    Encrypt ``plaintext`` for the secret ``secret_id`` (and the Telegram account it is
    bound to, if any) under the first key.
    """
    if passphrase:
        salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
        sealed = AESGCM(_passphrase_key(passphrase, salt)).encrypt(
            nonce, plaintext, _aad(secret_id)
        )
        inner = _WITH_PASSPHRASE + salt + nonce + sealed
    else:
        inner = _PLAIN + plaintext
    header = VERSION + key_id(keys[0])
    nonce = os.urandom(_NONCE)
    aad = _aad(secret_id, header, telegram_recipient)
    return header + nonce + AESGCM(keys[0]).encrypt(nonce, inner, aad)


def unseal(
    blob: bytes,
    *,
    secret_id: uuid.UUID,
    keys: list[bytes],
    passphrase: str | None,
    telegram_recipient: str = "",
) -> bytes:
    """
    Return the plaintext of ``blob``.

    Raise DecryptionError when the server's keys cannot open it, PassphraseRequired or
    WrongPassphrase when the passphrase layer cannot be opened.
    """
    header, nonce, sealed = blob[:5], blob[5 : 5 + _NONCE], blob[5 + _NONCE :]
    if header[:1] != VERSION:
        raise DecryptionError("unknown blob version")
    key = next((k for k in keys if key_id(k) == header[1:5]), None)
    if key is None:
        raise DecryptionError("no configured key matches the blob's key id")
    try:
        inner = AESGCM(key).decrypt(nonce, sealed, _aad(secret_id, header, telegram_recipient))
    except InvalidTag:
        raise DecryptionError("authentication failed") from None
    if inner[:1] == _PLAIN:
        return inner[1:]
    if not passphrase:
        raise PassphraseRequired
    salt = inner[1 : 1 + _SALT]
    inner_nonce = inner[1 + _SALT : 1 + _SALT + _NONCE]
    try:
        return AESGCM(_passphrase_key(passphrase, salt)).decrypt(
            inner_nonce, inner[1 + _SALT + _NONCE :], _aad(secret_id)
        )
    except InvalidTag:
        raise WrongPassphrase from None
