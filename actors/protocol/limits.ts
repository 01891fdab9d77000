/**
 * The limits that are part of the client protocol, each with the reason for
 * its value: the client and the replica validate with the same numbers.
 * Which error code an over-limit value gets is documented in docs/chat.md
 * ("Validation"): longer/more than a maximum → too_large; shorter, wrong
 * charset, wrong type, number out of range → bad_request.
 */

/** PROTOCOL.md: username is 1 to 32 characters of `A-Z a-z 0-9 _ . -`. */
export const USERNAME_MAX_CHARS = 32;
export const USERNAME_CHARSET = /^[A-Za-z0-9_.-]+$/;
/** PROTOCOL.md: password is 8 to 256 characters. */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 256;
/** PROTOCOL.md: text is 1 to 4,000 characters (code points, not UTF-16 units). */
export const TEXT_MAX_CHARS = 4_000;
/** PROTOCOL.md: requestId is 1 to 64 characters. */
export const REQUEST_ID_MAX_CHARS = 64;
/** Tokens we issue are 43 characters; anything longer than this is not one of ours and is not worth hashing. */
export const TOKEN_MAX_CHARS = 256;
/** A glob longer than a username plus a wildcard between every character is never useful. */
export const PATTERN_MAX_CHARS = 64;
/** PROTOCOL.md: history limit defaults to 100, at most 1,000. */
export const HISTORY_DEFAULT_LIMIT = 100;
export const HISTORY_MAX_LIMIT = 1_000;
/** One accounts page: same bounds as history, so one reply stays well under NATS's 1 MB payload (1,000 × 32 chars). */
export const ACCOUNTS_DEFAULT_LIMIT = 100;
export const ACCOUNTS_MAX_LIMIT = 1_000;
/** One deleteMessages names at most this many ids, so one log entry stays small (≤ 17 KB of ids). */
export const DELETE_MAX_IDS = 1_000;
/**
 * docs/protocol.md §3: the default of the replica setting `limits.maxRequestBytes`;
 * bodies above the configured value get `too_large` unparsed. A maximal valid
 * request (4,000-char text, ≤ 24 KB even with every character JSON-escaped) fits twice.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 65_536;
