/**
 * Sealed replies and sealed live frames (docs/protocol.md §2.5,
 * docs/security.md): a reply or frame encrypted to an X25519 public key the
 * client chose, so that another holder of the shared client credential, who
 * may subscribe to `_INBOX.>` and `<prefix>.live.*`, reads only ciphertext.
 * node:crypto only.
 *
 *   shared = X25519(e, R)                                  e: the sealer's key, R: the client's
 *   key    = HKDF-SHA256(ikm = shared, salt = nonce,
 *                        info = label || 0x00 || E || R || subject, L = 32)
 *   ct     = ChaCha20-Poly1305(key, nonce, plaintext, aad = subject) || tag
 *   wire   = {v: 1, epk: b64url(E), nonce: b64url(nonce), ct: b64url(ct)}
 *
 * `label` separates the uses (`quorumchat reply v1`, `quorumchat live v1`,
 * `quorumchat forward v1`), `subject` is the NATS subject the envelope is
 * published on (the reply inbox, the live subject), so an envelope opens only
 * where it was sent. Binding E and R into the key (as HPKE does) ties it to
 * both public keys. The nonce is random per envelope and also salts HKDF, so
 * every envelope gets its own key even when (E, R, subject) repeat, as they
 * do for a session's live frames.
 *
 * ChaCha20-Poly1305 rather than AES-256-GCM: it is constant-time in software
 * on machines without AES instructions, and within a microsecond of it here
 * (docs/notebook.md, "Sealed replies and live frames"). E is not fresh per envelope: a
 * `Sealer` keeps one key pair for up to SEAL_KEY_MAX_USES envelopes or
 * SEAL_KEY_MAX_AGE_MS and caches X25519(e, R) per client key R, because two
 * X25519 operations (key generation and agreement) were most of a seal's
 * cost; a compromise of the replica's memory then exposes at most that
 * window of envelopes, and the replica already holds everything they say.
 *
 * Nothing here throws on what a peer sent: parsing and opening return typed
 * errors (`SealError` subclasses) as values.
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

/** The envelope version this build writes and opens; any other is refused by name. */
export const SEAL_VERSION = 1;
/** An X25519 public or private key, in bytes (RFC 7748). */
export const SEAL_KEY_BYTES = 32;
/** ChaCha20-Poly1305's nonce (RFC 8439); random per envelope. */
export const SEAL_NONCE_BYTES = 12;
/** Poly1305's tag, appended to the ciphertext. */
export const SEAL_TAG_BYTES = 16;
/** base64url without padding of SEAL_KEY_BYTES: ceil(32 × 4 / 3). */
export const SEAL_KEY_CHARS = 43;
/** base64url without padding of SEAL_NONCE_BYTES. */
const SEAL_NONCE_CHARS = 16;
/**
 * The longest `ct` an envelope may carry, in base64url characters: NATS's own hard cap on a
 * message (64 MiB, nats-server `max_payload`), so nothing legal is refused and a bogus length
 * is refused before any decoding.
 */
export const SEAL_MAX_CT_CHARS = 64 * 1024 * 1024;
/** A sealer's key pair seals at most this many envelopes before a new one is made: bounds what one leaked key opens. */
export const SEAL_KEY_MAX_USES = 65_536;
/** ... and lives at most this long (same reason), in the sealer's clock's milliseconds. */
export const SEAL_KEY_MAX_AGE_MS = 10 * 60_000;
/**
 * Shared secrets a sealer or opener keeps, one per peer key (32 bytes and a key string each,
 * about 200 bytes): a replica answers at most this many distinct client connections and
 * sessions without an X25519 each; beyond it the oldest is forgotten and recomputed on use.
 */
export const SEAL_CACHE_MAX_ENTRIES = 4_096;

/** What an envelope is for: part of the key derivation, so an envelope of one kind never opens as another. */
export type SealPurpose = 'reply' | 'live' | 'forward';
const LABELS: Readonly<Record<SealPurpose, string>> = {
  reply: 'quorumchat reply v1',
  live: 'quorumchat live v1',
  forward: 'quorumchat forward v1',
};

/** The wire form: `{"sealed": envelope}` for a reply, `{"type": "sealed", ...envelope}` for a live frame. */
export interface SealedEnvelope {
  readonly v: typeof SEAL_VERSION;
  readonly epk: string;
  readonly nonce: string;
  readonly ct: string;
}

/** Base of every sealing error; `reason` tells them apart without instanceof. */
export abstract class SealError extends Error {
  abstract readonly reason: 'bad_key' | 'malformed' | 'version' | 'open_failed';
}
/** A public key that is not 32 canonical base64url bytes, or a low-order point X25519 refuses. */
export class BadSealKeyError extends SealError {
  readonly reason = 'bad_key';
  override readonly name = 'BadSealKeyError';
}
/** An envelope that is not `{v, epk, nonce, ct}` with the right types and lengths. */
export class MalformedEnvelopeError extends SealError {
  readonly reason = 'malformed';
  override readonly name = 'MalformedEnvelopeError';
}
/** An envelope of a version this build does not know. */
export class SealVersionError extends SealError {
  readonly reason = 'version';
  override readonly name = 'SealVersionError';
}
/** Authentication failed: wrong key, wrong subject, wrong purpose, or tampered bytes (AEAD does not say which). */
export class OpenFailedError extends SealError {
  readonly reason = 'open_failed';
  override readonly name = 'OpenFailedError';
}

/** One X25519 key pair: the private key for this side, the public one in its wire form. */
export interface SealKeyPair {
  readonly privateKey: KeyObject;
  /** base64url, SEAL_KEY_CHARS characters. */
  readonly publicKey: string;
}

/**
 * A key pair from 32 random bytes (X25519 clamps any 32 bytes into a valid scalar, RFC 7748 §5).
 * Keys go in and out as JWK: importing DER measured ten times slower here (OpenSSL 3's decoders).
 * The public key is X25519(d, 9) (RFC 7748 §6.1); node wants an `x` beside `d` and derives the
 * key from `d`, so the base point stands in for it.
 */
export function sealKeyPairFrom(secret: Uint8Array): SealKeyPair {
  if (secret.byteLength !== SEAL_KEY_BYTES) throw new RangeError(`an X25519 private key is ${SEAL_KEY_BYTES} bytes, got ${secret.byteLength}`);
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(secret).toString('base64url'), x: X25519_BASE_POINT }, format: 'jwk' });
  const publicKey = diffieHellman({ privateKey, publicKey: jwkPublicKey(X25519_BASE_POINT) }).toString('base64url');
  return { privateKey, publicKey };
}

/** u = 9, the X25519 base point (RFC 7748 §4.1), little-endian, base64url. */
const X25519_BASE_POINT = Buffer.from([9, ...Buffer.alloc(SEAL_KEY_BYTES - 1)]).toString('base64url');

function jwkPublicKey(x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** The form of a key on the wire (43 base64url characters); parseSealKey also insists on canonical bits. */
export const SEAL_KEY_FORM = /^[A-Za-z0-9_-]{43}$/;

/**
 * The wire form of a public key checked without any crypto (about a microsecond: every sealed
 * request is checked so), or BadSealKeyError unless it is exactly 32 bytes of canonical base64url.
 */
export function checkSealKeyForm(value: unknown): string | BadSealKeyError {
  if (typeof value !== 'string' || !SEAL_KEY_FORM.test(value)) {
    return new BadSealKeyError(`must be an X25519 public key: ${SEAL_KEY_BYTES} bytes as ${SEAL_KEY_CHARS} characters of base64url without padding`);
  }
  // Two strings must not name one key (the last character carries 2 unused bits).
  if (Buffer.from(value, 'base64url').toString('base64url') !== value) return new BadSealKeyError('is not canonical base64url (unused bits set in the last character)');
  return value;
}

/** A public key from its wire form (checkSealKeyForm, then the key object). */
export function parseSealKey(value: unknown): KeyObject | BadSealKeyError {
  const form = checkSealKeyForm(value);
  if (form instanceof BadSealKeyError) return form;
  return jwkPublicKey(form);
}

/**
 * A public key fit to seal to, checked fully (parseSealKey, then one X25519 with a fixed
 * scalar: a clamped scalar is a multiple of the cofactor, so the result is zero exactly for
 * the low-order points): null, or why not. Costs one X25519; used for `login.liveKey`, which
 * a replica seals to long after the login, so it must be known good when it enters the log.
 */
export function checkSealKey(value: unknown): BadSealKeyError | null {
  const key = parseSealKey(value);
  if (key instanceof BadSealKeyError) return key;
  const agreed = agree(LOW_ORDER_PROBE, key);
  return agreed instanceof BadSealKeyError ? agreed : null;
}
/** Any fixed private key will do for the low-order probe (see checkSealKey); immutable. */
const LOW_ORDER_PROBE = sealKeyPairFrom(Buffer.alloc(SEAL_KEY_BYTES, 1)).privateKey;

/** X25519(private, public), or BadSealKeyError for a low-order public key (OpenSSL refuses an all-zero result). */
function agree(privateKey: KeyObject, publicKey: KeyObject): Buffer | BadSealKeyError {
  try {
    return diffieHellman({ privateKey, publicKey });
  } catch {
    return new BadSealKeyError('is a low-order point: X25519 with it gives no shared secret');
  }
}

/** RFC 5869 HKDF-SHA256 with L = 32 (one block: T(1) = HMAC(PRK, info || 0x01)); node's hkdfSync measured 3× slower for this size. */
function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk).update(info).update(HKDF_FIRST_BLOCK).digest();
}
const HKDF_FIRST_BLOCK = Buffer.from([1]);

function infoFor(purpose: SealPurpose, epk: Buffer, recipient: Buffer, subject: string): Buffer {
  return Buffer.concat([Buffer.from(LABELS[purpose], 'utf8'), Buffer.from([0]), epk, recipient, Buffer.from(subject, 'utf8')]);
}

/** The AEAD step of sealing, with everything decided: pure given its inputs. */
function sealWith(shared: Buffer, epk: Buffer, recipient: Buffer, purpose: SealPurpose, subject: string, plaintext: Uint8Array, nonce: Uint8Array): SealedEnvelope {
  const key = hkdf32(shared, nonce, infoFor(purpose, epk, recipient, subject));
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: SEAL_TAG_BYTES });
  cipher.setAAD(Buffer.from(subject, 'utf8'), { plaintextLength: plaintext.byteLength });
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { v: SEAL_VERSION, epk: epk.toString('base64url'), nonce: Buffer.from(nonce).toString('base64url'), ct: ct.toString('base64url') };
}

/** The envelope's fields decoded, or why not; checks only types and lengths (cheap, before any crypto). */
export function checkEnvelope(value: unknown): { readonly epk: Buffer; readonly nonce: Buffer; readonly ct: Buffer } | MalformedEnvelopeError | SealVersionError {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new MalformedEnvelopeError('a sealed envelope must be a JSON object');
  const { v, epk, nonce, ct } = value as Record<string, unknown>;
  if (v !== SEAL_VERSION) return typeof v === 'number' ? new SealVersionError(`sealed envelope version ${v}; this build opens version ${SEAL_VERSION}`) : new MalformedEnvelopeError('a sealed envelope needs "v": 1');
  if (typeof epk !== 'string' || epk.length !== SEAL_KEY_CHARS || !BASE64URL.test(epk)) return new MalformedEnvelopeError(`"epk" must be ${SEAL_KEY_CHARS} characters of base64url`);
  if (typeof nonce !== 'string' || nonce.length !== SEAL_NONCE_CHARS || !BASE64URL.test(nonce)) return new MalformedEnvelopeError(`"nonce" must be ${SEAL_NONCE_CHARS} characters of base64url`);
  if (typeof ct !== 'string' || ct.length > SEAL_MAX_CT_CHARS || !BASE64URL.test(ct)) return new MalformedEnvelopeError(`"ct" must be base64url of at most ${SEAL_MAX_CT_CHARS} characters`);
  const ctBytes = Buffer.from(ct, 'base64url');
  if (ctBytes.byteLength < SEAL_TAG_BYTES) return new MalformedEnvelopeError(`"ct" is shorter than its ${SEAL_TAG_BYTES}-byte tag`);
  return { epk: Buffer.from(epk, 'base64url'), nonce: Buffer.from(nonce, 'base64url'), ct: ctBytes };
}

/**
 * The sealing side (a replica): one key pair, rotated after SEAL_KEY_MAX_USES envelopes or
 * SEAL_KEY_MAX_AGE_MS, and the X25519 result per client key, cached. Randomness and time come
 * in, so the simulation runs it deterministically.
 */
export class Sealer {
  readonly #randomBytes: (n: number) => Uint8Array;
  readonly #now: () => number;
  #keys: SealKeyPair | null = null;
  #epk = Buffer.alloc(0);
  #uses = 0;
  #bornAt = 0;
  /** client key (wire form) → {public key bytes, X25519(e, R)}; insertion order is age (oldest first). */
  readonly #shared = new Map<string, SealTarget>();

  constructor(options: { readonly randomBytes: (n: number) => Uint8Array; readonly now: () => number }) {
    this.#randomBytes = options.randomBytes;
    this.#now = options.now;
  }

  /**
   * Everything needed to seal to `recipient` (its wire form), or BadSealKeyError: a request's
   * `replyKey` is checked here, before any work is done for the request, so a bad key is a
   * clear `bad_request` and nothing is ever sealed to garbage.
   */
  target(recipient: unknown): SealTarget | BadSealKeyError {
    this.#rotateIfDue();
    if (typeof recipient === 'string') {
      const known = this.#shared.get(recipient);
      if (known !== undefined && known.epk === this.#epk) return known;
    }
    const key = parseSealKey(recipient);
    if (key instanceof BadSealKeyError) return key;
    const shared = agree(this.#keyPair().privateKey, key);
    if (shared instanceof BadSealKeyError) return shared;
    const target: SealTarget = { epk: this.#epk, recipient: Buffer.from(recipient as string, 'base64url'), shared };
    this.#shared.delete(recipient as string);
    this.#shared.set(recipient as string, target);
    if (this.#shared.size > SEAL_CACHE_MAX_ENTRIES) this.#shared.delete(this.#shared.keys().next().value ?? '');
    return target;
  }

  /** Seal `plaintext` (a reply's or frame's JSON) to a target from `target`, for `subject`. */
  seal(target: SealTarget, purpose: SealPurpose, subject: string, plaintext: string | Uint8Array): SealedEnvelope {
    this.#uses += 1;
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    return sealWith(target.shared, target.epk, target.recipient, purpose, subject, bytes, this.#randomBytes(SEAL_NONCE_BYTES));
  }

  #keyPair(): SealKeyPair {
    if (this.#keys === null) {
      this.#keys = sealKeyPairFrom(this.#randomBytes(SEAL_KEY_BYTES));
      this.#epk = Buffer.from(this.#keys.publicKey, 'base64url');
      this.#uses = 0;
      this.#bornAt = this.#now();
    }
    return this.#keys;
  }

  #rotateIfDue(): void {
    if (this.#keys === null) return;
    if (this.#uses < SEAL_KEY_MAX_USES && this.#now() - this.#bornAt < SEAL_KEY_MAX_AGE_MS) return;
    this.#keys = null;
    this.#shared.clear();
    this.#keyPair();
  }
}

/** A checked recipient with its shared secret (from `Sealer.target`). */
export interface SealTarget {
  readonly epk: Buffer;
  readonly recipient: Buffer;
  readonly shared: Buffer;
}

/**
 * The opening side (a client connection, a live session, a forwarding replica): one private
 * key, and X25519 per sealer key (`epk`) cached, since a replica keeps its key for many envelopes.
 */
export class Opener {
  readonly #keys: SealKeyPair;
  readonly #recipient: Buffer;
  /** epk (wire form) → X25519(d, E); oldest first. */
  readonly #shared = new Map<string, Buffer>();

  constructor(keys: SealKeyPair) {
    this.#keys = keys;
    this.#recipient = Buffer.from(keys.publicKey, 'base64url');
  }

  /** The public key to send (`replyKey`, `liveKey`). */
  get publicKey(): string {
    return this.#keys.publicKey;
  }

  /** The plaintext of `envelope` sealed to this key for `purpose` on `subject`, or why not. Never throws. */
  open(envelope: unknown, purpose: SealPurpose, subject: string): Buffer | SealError {
    const fields = checkEnvelope(envelope);
    if (fields instanceof SealError) return fields;
    const epkText = (envelope as SealedEnvelope).epk;
    let shared = this.#shared.get(epkText);
    if (shared === undefined) {
      const epk = parseSealKey(epkText);
      if (epk instanceof BadSealKeyError) return new MalformedEnvelopeError(`"epk" ${epk.message}`);
      const agreed = agree(this.#keys.privateKey, epk);
      if (agreed instanceof BadSealKeyError) return new OpenFailedError(`"epk" ${agreed.message}`);
      shared = agreed;
      this.#shared.set(epkText, shared);
      if (this.#shared.size > SEAL_CACHE_MAX_ENTRIES) this.#shared.delete(this.#shared.keys().next().value ?? '');
    }
    const key = hkdf32(shared, fields.nonce, infoFor(purpose, fields.epk, this.#recipient, subject));
    const body = fields.ct.subarray(0, fields.ct.byteLength - SEAL_TAG_BYTES);
    try {
      const decipher = createDecipheriv('chacha20-poly1305', key, fields.nonce, { authTagLength: SEAL_TAG_BYTES });
      decipher.setAAD(Buffer.from(subject, 'utf8'), { plaintextLength: body.byteLength });
      decipher.setAuthTag(fields.ct.subarray(body.byteLength));
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      return new OpenFailedError(`the sealed ${purpose} does not open with this key on ${subject} (wrong key, wrong subject, or tampered)`);
    }
  }
}

/** One-shot sealing with a fresh ephemeral key (tests, tools): the same envelope a `Sealer` makes. */
export function sealOnce(recipient: string, purpose: SealPurpose, subject: string, plaintext: string | Uint8Array, randomBytes: (n: number) => Uint8Array): SealedEnvelope | BadSealKeyError {
  const sealer = new Sealer({ randomBytes, now: () => 0 });
  const target = sealer.target(recipient);
  return target instanceof BadSealKeyError ? target : sealer.seal(target, purpose, subject, plaintext);
}
