// The zero-knowledge envelope, version 1, with WebCrypto: the same bytes as
// onetime/core/envelope.py, whose docstring gives the layout and the derivations (and
// docs/zero-knowledge-vectors.json the test vectors both must reproduce).
const LABEL = "onetime-zk-v1";
const VERSION = 1;
const FLAG_PASSPHRASE = 0x01;
export const PBKDF2_ITERATIONS = 600_000;
const KEY_BYTES = 32;
const SEED_BYTES = 16;
const CHECK_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2 + SEED_BYTES + CHECK_BYTES; // what the associated data covers
const PREFIX_BYTES = HEADER_BYTES + NONCE_BYTES;
const BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$/;

const utf8 = new TextEncoder();

// WebCrypto exists only in secure contexts: HTTPS, or localhost.
export function available() {
  return Boolean(window.isSecureContext && window.crypto && crypto.subtle);
}

export function randomBytes(size) {
  return crypto.getRandomValues(new Uint8Array(size));
}

export function newKey() {
  return randomBytes(KEY_BYTES);
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// URL-safe base64 without padding.
export function b64encode(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

// Read URL-safe base64 without padding; throw on anything else.
export function b64decode(text) {
  if (!BASE64URL.test(text)) throw new Error("not URL-safe base64 without padding");
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

// A key from a link's fragment ("#…"), or null when it holds none of the right size.
export function keyFromFragment(hash) {
  try {
    const key = b64decode(hash.replace(/^#/, ""));
    return key.length === KEY_BYTES ? key : null;
  } catch {
    return null;
  }
}

// The id of the secret whose envelope carries `seed`: 16 bytes with a version-4 UUID's bits.
export async function secretId(seed) {
  const digest = await crypto.subtle.digest("SHA-256", concat(utf8.encode(`${LABEL} id`), seed));
  const id = new Uint8Array(digest, 0, 16).slice();
  id[6] = (id[6] & 0x0f) | 0x40;
  id[8] = (id[8] & 0x3f) | 0x80;
  return id;
}

export function uuidString(id) {
  const hex = [...id].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidBytes(text) {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error("not a UUID");
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

async function hkdf(material, salt, info, size) {
  const key = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt, info: utf8.encode(LABEL + info) };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, size * 8));
}

// The passphrase stretched for secret `id` (PBKDF2-HMAC-SHA256 over its NFC form in UTF-8).
export async function stretch(passphrase, id) {
  const password = utf8.encode(passphrase.normalize("NFC"));
  const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
  const params = {
    name: "PBKDF2",
    hash: "SHA-256",
    salt: concat(utf8.encode(LABEL), id),
    iterations: PBKDF2_ITERATIONS,
  };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, 256));
}

export function keyCheck(key, id) {
  return hkdf(key, id, " check", CHECK_BYTES);
}

// The encryption key and, with a stretched passphrase, the proof the server checks.
export async function derive(key, id, stretched) {
  const material = concat(key, stretched || new Uint8Array(0));
  return {
    encryption: await hkdf(material, id, " key", 32),
    proof: stretched ? await hkdf(material, id, " proof", 32) : null,
  };
}

function aesKey(raw, usage) {
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
}

// Encrypt `plaintext` (a string) under `key` and `passphrase`; the seed and the nonce are
// random unless given (the test vectors give them). Return the envelope, the secret's id
// and the passphrase's proof (null without one).
export async function seal(plaintext, { key, passphrase = "", seed, nonce } = {}) {
  seed = seed || randomBytes(SEED_BYTES);
  nonce = nonce || randomBytes(NONCE_BYTES);
  const id = await secretId(seed);
  const stretched = passphrase ? await stretch(passphrase, id) : null;
  const keys = await derive(key, id, stretched);
  const flags = passphrase ? FLAG_PASSPHRASE : 0;
  const header = concat(Uint8Array.of(VERSION, flags), seed, await keyCheck(key, id));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: concat(id, header) },
    await aesKey(keys.encryption, "encrypt"),
    utf8.encode(plaintext),
  );
  return { envelope: concat(header, nonce, new Uint8Array(sealed)), id, proof: keys.proof };
}

// The clear part of an envelope; throw when it is not a version-1 envelope.
export async function parse(envelope) {
  if (envelope[0] !== VERSION) throw new Error("unknown envelope version");
  if (envelope.length <= PREFIX_BYTES + TAG_BYTES) throw new Error("envelope too short");
  if (envelope[1] & ~FLAG_PASSPHRASE) throw new Error("unknown envelope flags");
  return {
    passphrase: Boolean(envelope[1] & FLAG_PASSPHRASE),
    id: await secretId(envelope.subarray(2, 2 + SEED_BYTES)),
    keyCheck: envelope.slice(2 + SEED_BYTES, HEADER_BYTES),
  };
}

// The plaintext of secret `id`'s envelope; throw when the key, the passphrase or the id do
// not open it (never return what did not decrypt).
export async function open(envelope, { key, id, stretched = null }) {
  const header = await parse(envelope);
  if (!equal(header.id, id)) throw new Error("the envelope belongs to another secret");
  if (header.passphrase && !stretched) throw new Error("the envelope needs a passphrase");
  const keys = await derive(key, id, header.passphrase ? stretched : null);
  const plain = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: envelope.subarray(HEADER_BYTES, PREFIX_BYTES),
      additionalData: concat(id, envelope.subarray(0, HEADER_BYTES)),
    },
    await aesKey(keys.encryption, "decrypt"),
    envelope.subarray(PREFIX_BYTES),
  );
  // ignoreBOM: a leading U+FEFF is part of the secret, as in Python.
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plain);
}
