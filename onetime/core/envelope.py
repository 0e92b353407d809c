"""
The zero-knowledge envelope, version 1 (PRODUCT.md §2.7; docs/zero-knowledge.md).

A client (the browser's core/zk.js, the command-line client) encrypts a secret under a
random 256-bit key that travels only in the link's fragment; the server stores and returns
the envelope without being able to open it. Layout::

    offset  size
    0       1     version, 0x01
    1       1     flags: 0x01 = a passphrase is mixed into the key; no other bit is set
    2       16    seed, random; the secret's id is derived from it (secret_id)
    18      16    key check: lets a recipient tell a wrong or truncated key before the reveal
    34      12    nonce, random
    46      n+16  AES-256-GCM(enc_key, nonce, plaintext, aad = id(16) | envelope[0:34])

Derivations (HKDF-SHA256 with the id's 16 bytes as salt)::

    id        = SHA-256("onetime-zk-v1 id" | seed)[:16], as a version-4 UUID
    stretched = PBKDF2-HMAC-SHA256(NFC(passphrase) UTF-8, "onetime-zk-v1" | id, 600,000, 32)
                (empty without a passphrase)
    key check = HKDF(key, info "onetime-zk-v1 check", 16)
    enc_key   = HKDF(key | stretched, info "onetime-zk-v1 key", 32)
    proof     = HKDF(key | stretched, info "onetime-zk-v1 proof", 32)

The server sees the envelope and, for a secret with a passphrase, the proof (which it stores
only under Argon2id). Both need the fragment key, so neither the server nor a copy of its
database can test passphrase guesses; the recipient sends the proof, and the server counts
wrong ones. The id comes from a hash, so a client cannot choose an existing secret's id.

Pure Python on ``cryptography``: no Django, so that the command-line client imports it alone.
"""

import base64
import hashlib
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VERSION = 1
FLAG_PASSPHRASE = 0x01
PBKDF2_ITERATIONS = 600_000
KEY_BYTES = 32
SEED_BYTES = 16
CHECK_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 2 + SEED_BYTES + CHECK_BYTES  # what the associated data covers
PREFIX_BYTES = HEADER_BYTES + NONCE_BYTES
# The envelope's size beyond the plaintext's.
OVERHEAD = PREFIX_BYTES + TAG_BYTES
PROOF_BYTES = 32
_LABEL = b"onetime-zk-v1"
# URL-safe base64 without padding: groups of 4, and a last group of 2 or 3 (never 1).
BASE64URL = re.compile(r"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?")


class EnvelopeError(ValueError):
    """Bytes that are not a version-1 envelope, or a key that does not open one."""


def b64encode(data: bytes) -> str:
    """Return URL-safe base64 without padding (the key in a fragment, the API's fields)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Read URL-safe base64 without padding; raise EnvelopeError for anything else."""
    if not BASE64URL.fullmatch(text):
        raise EnvelopeError("not URL-safe base64 without padding")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secret_id(seed: bytes) -> uuid.UUID:
    """Return the id of the secret whose envelope carries ``seed``."""
    digest = hashlib.sha256(_LABEL + b" id" + seed).digest()[:16]
    return uuid.UUID(bytes=digest, version=4)


def _hkdf(material: bytes, salt: bytes, info: str, length: int) -> bytes:
    kdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=_LABEL + info.encode())
    return kdf.derive(material)


def stretch(passphrase: str, sid: uuid.UUID) -> bytes:
    """Return the passphrase stretched for secret ``sid`` (PBKDF2, 600,000 iterations)."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_LABEL + sid.bytes,
        iterations=PBKDF2_ITERATIONS,
    )
    return kdf.derive(unicodedata.normalize("NFC", passphrase).encode("utf-8"))


def key_check(key: bytes, sid: uuid.UUID) -> bytes:
    return _hkdf(key, sid.bytes, " check", CHECK_BYTES)


@dataclass(frozen=True)
class Keys:
    """What a key (and a passphrase, stretched) gives for one secret."""

    encryption: bytes
    proof: bytes | None  # None without a passphrase


def derive(key: bytes, sid: uuid.UUID, stretched: bytes | None) -> Keys:
    material = key + (stretched or b"")
    return Keys(
        encryption=_hkdf(material, sid.bytes, " key", 32),
        proof=_hkdf(material, sid.bytes, " proof", PROOF_BYTES) if stretched else None,
    )


@dataclass(frozen=True)
class Header:
    """The clear part of an envelope: what the server reads from it."""

    flags: int
    secret_id: uuid.UUID
    key_check: bytes

    @property
    def passphrase(self) -> bool:
        return bool(self.flags & FLAG_PASSPHRASE)


def parse(envelope: bytes) -> Header:
    """Return the header of a version-1 envelope; raise EnvelopeError when it is not one."""
    if len(envelope) < 1 or envelope[0] != VERSION:
        raise EnvelopeError("unknown envelope version (this server reads version 1)")
    if len(envelope) <= OVERHEAD:
        raise EnvelopeError("the envelope is too short to hold a secret")
    flags = envelope[1]
    if flags & ~FLAG_PASSPHRASE:
        raise EnvelopeError("unknown envelope flags")
    return Header(
        flags=flags,
        secret_id=secret_id(envelope[2 : 2 + SEED_BYTES]),
        key_check=envelope[2 + SEED_BYTES : HEADER_BYTES],
    )


def seal(
    plaintext: bytes,
    *,
    key: bytes,
    passphrase: str | None = None,
    seed: bytes | None = None,
    nonce: bytes | None = None,
) -> tuple[bytes, bytes | None]:
    """
    Return (envelope, proof) for ``plaintext`` under ``key`` (and ``passphrase``). ``seed``
    and ``nonce`` are random unless given (the test vectors give them).
    """
    seed = os.urandom(SEED_BYTES) if seed is None else seed
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    sid = secret_id(seed)
    keys = derive(key, sid, stretch(passphrase, sid) if passphrase else None)
    header = bytes([VERSION, FLAG_PASSPHRASE if passphrase else 0]) + seed + key_check(key, sid)
    sealed = AESGCM(keys.encryption).encrypt(nonce, plaintext, sid.bytes + header)
    return header + nonce + sealed, keys.proof


def open_envelope(
    envelope: bytes, *, key: bytes, sid: uuid.UUID, stretched: bytes | None = None
) -> bytes:
    """
    Return the plaintext of ``envelope``, the secret ``sid``'s (the id in its link); raise
    EnvelopeError when the key, the passphrase or the id do not match.
    """
    header = parse(envelope)
    if header.secret_id != sid:
        raise EnvelopeError("the envelope belongs to another secret")
    if header.passphrase and stretched is None:
        raise EnvelopeError("the envelope needs a passphrase")
    keys = derive(key, sid, stretched if header.passphrase else None)
    try:
        return AESGCM(keys.encryption).decrypt(
            envelope[HEADER_BYTES:PREFIX_BYTES],
            envelope[PREFIX_BYTES:],
            sid.bytes + envelope[:HEADER_BYTES],
        )
    except InvalidTag:
        raise EnvelopeError("the key or the passphrase does not open the envelope") from None


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)
