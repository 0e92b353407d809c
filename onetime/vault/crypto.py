"""
Encryption of secrets at rest.

Layout of a stored blob (all under AES-256-GCM with a 96-bit random nonce)::

    outer = version(1) | key_id(4) | nonce(12) | AESGCM(server_key, inner, aad)
    inner = 0x00 | plaintext                                       (no passphrase)
          | 0x01 | salt(16) | nonce(12) | AESGCM(argon2id(passphrase, salt), plaintext, aad)
          | 0x02 | 0x00 | envelope                      (encrypted by the client, §2.7)
          | 0x02 | 0x01 | salt(16) | argon2id(proof, salt)(32) | envelope     (with a proof)

A client-encrypted secret's envelope (core/envelope.py) is opaque here: the server stores
it, and for a secret with a passphrase the Argon2id hash of the proof that the recipient's
client must send, inside this layer, so a database copy holds neither in the clear.

The associated data binds the secret's id (and the outer header), so a ciphertext copied
onto another row does not decrypt. For a secret bound to a Telegram account the outer
layer's also names the account as the sender wrote it: a process that does not know the
binding (the previous release during an upgrade or after a rollback, which would reveal it
to anyone with the link) cannot decrypt it. ``key_id`` names which of ONETIME_ENCRYPTION_KEYS
sealed the blob: the first key encrypts, every key decrypts, which is how keys rotate.
A client-encrypted secret's associated data says so too, so a release that does not know
such secrets cannot hand an envelope out as if it were the plaintext. The passphrase layer
means that even the operator cannot read such a secret without it.
"""

import hashlib
import hmac
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

VERSION = b"\x01"
_PLAIN = b"\x00"
_WITH_PASSPHRASE = b"\x01"
_CLIENT = b"\x02"
_NO_PROOF = b"\x00"
_WITH_PROOF = b"\x01"
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


def _aad(
    secret_id: uuid.UUID, header: bytes = b"", telegram_recipient: str = "", client: bool = False
) -> bytes:
    # Nothing added without a recipient: blobs sealed before bound secrets existed still open.
    bound = b"\x00telegram " + telegram_recipient.encode() if telegram_recipient else b""
    mode = b"\x00client" if client else b""
    return b"onetime secret\x00" + secret_id.bytes + header + bound + mode


def _argon2id(secret: bytes, salt: bytes) -> bytes:
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=_ARGON2_ITERATIONS,
        lanes=1,
        memory_cost=_ARGON2_MEMORY_KIB,
    )
    return kdf.derive(secret)


def _passphrase_key(passphrase: str, salt: bytes) -> bytes:
    return _argon2id(passphrase.encode("utf-8"), salt)


def _seal_outer(
    inner: bytes, secret_id: uuid.UUID, keys: list[bytes], telegram_recipient: str, client: bool
) -> bytes:
    header = VERSION + key_id(keys[0])
    nonce = os.urandom(_NONCE)
    aad = _aad(secret_id, header, telegram_recipient, client)
    return header + nonce + AESGCM(keys[0]).encrypt(nonce, inner, aad)


def _unseal_outer(
    blob: bytes, secret_id: uuid.UUID, keys: list[bytes], telegram_recipient: str, client: bool
) -> bytes:
    header, nonce, sealed = blob[:5], blob[5 : 5 + _NONCE], blob[5 + _NONCE :]
    if header[:1] != VERSION:
        raise DecryptionError("unknown blob version")
    key = next((k for k in keys if key_id(k) == header[1:5]), None)
    if key is None:
        raise DecryptionError("no configured key matches the blob's key id")
    try:
        return AESGCM(key).decrypt(
            nonce, sealed, _aad(secret_id, header, telegram_recipient, client)
        )
    except InvalidTag:
        raise DecryptionError("authentication failed") from None


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
    return _seal_outer(inner, secret_id, keys, telegram_recipient, client=False)


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
    inner = _unseal_outer(blob, secret_id, keys, telegram_recipient, client=False)
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


def seal_envelope(
    envelope: bytes,
    *,
    secret_id: uuid.UUID,
    keys: list[bytes],
    proof: bytes | None,
    telegram_recipient: str = "",
) -> bytes:
    """
    Store a client's envelope for the secret ``secret_id``, with the Argon2id hash of the
    ``proof`` that its recipient must send when it has a passphrase.
    """
    if proof is None:
        record = _NO_PROOF
    else:
        salt = os.urandom(_SALT)
        record = _WITH_PROOF + salt + _argon2id(proof, salt)
    return _seal_outer(_CLIENT + record + envelope, secret_id, keys, telegram_recipient, True)


def unseal_envelope(
    blob: bytes,
    *,
    secret_id: uuid.UUID,
    keys: list[bytes],
    proof: bytes | None,
    telegram_recipient: str = "",
) -> bytes:
    """
    Return the client's envelope once ``proof`` checks out (when it needs one); raise
    DecryptionError, PassphraseRequired or WrongPassphrase as unseal does.
    """
    inner = _unseal_outer(blob, secret_id, keys, telegram_recipient, client=True)
    if inner[:1] != _CLIENT:
        raise DecryptionError("not a client-encrypted blob")
    if inner[1:2] == _NO_PROOF:
        return inner[2:]
    if proof is None:
        raise PassphraseRequired
    salt, stored = inner[2 : 2 + _SALT], inner[2 + _SALT : 2 + _SALT + 32]
    if not hmac.compare_digest(_argon2id(proof, salt), stored):
        raise WrongPassphrase
    return inner[2 + _SALT + 32 :]
