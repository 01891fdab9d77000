/**
 * Password hashing with scrypt (node:crypto, asynchronous so the event loop
 * keeps serving Raft traffic while a leader hashes). Runs on the leader only,
 * in prepareCommand; the salt and hash travel in the log entry.
 */
import { randomBytes as nodeRandomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt's cost parameters. Stored beside each hash so the cost can rise later without breaking old accounts. */
export interface ScryptCost {
  /** CPU/memory cost, a power of two. */
  readonly n: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/**
 * N = 2^14, r = 8, p = 1: 16 MiB per hash, Percival's parameters for interactive logins
 * (and Node's default). Measured on the shared 2-core machine: 51 ms at best, 509 ms median
 * under a load average of 26 (2^15: 693 / 960 ms). A leader hashes on register, login and
 * deleteAccount, on libuv's thread pool, which the sqlite3 driver shares; a costlier N would
 * stall the leader's log writes during bursts of logins. The parameters are stored per
 * account, so they can be raised without breaking existing accounts.
 */
export const PASSWORD_COST: ScryptCost = { n: 2 ** 14, r: 8, p: 1 };
/** 128-bit salts: unique per account with overwhelming probability. */
const SALT_BYTES = 16;
/** 256-bit derived keys. */
const HASH_BYTES = 32;

export interface PasswordHash {
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
  readonly cost: ScryptCost;
}

/** Hash a new password with a fresh salt from `randomBytes`. */
export async function hashPassword(password: string, cost: ScryptCost, randomBytes: (n: number) => Buffer): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  return { salt: new Uint8Array(salt), hash: await derive(password, salt, cost), cost };
}

/** Timing-safe check of `password` against a stored hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.cost);
  return candidate.length === stored.hash.length && timingSafeEqual(candidate, stored.hash);
}

/**
 * For an unknown username: spend the same work as a real check and fail, so a
 * login's timing does not reveal whether the account exists.
 */
export async function verifyAgainstNothing(password: string, cost: ScryptCost): Promise<false> {
  await derive(password, nodeRandomBytes(SALT_BYTES), cost);
  return false;
}

function derive(password: string, salt: Uint8Array, cost: ScryptCost): Promise<Uint8Array> {
  // scrypt needs 128·N·r bytes; allow twice that so Node's default 32 MiB cap never refuses our own parameters.
  const options: ScryptOptions = { N: cost.n, r: cost.r, p: cost.p, maxmem: 256 * cost.n * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, HASH_BYTES, options, (err, key) => (err ? reject(err) : resolve(new Uint8Array(key))));
  });
}
