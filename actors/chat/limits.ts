/**
 * Every limit of the chat state machine, each with the reason for its value.
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
/** One deleteMessages names at most this many ids, so one log entry stays small (≤ 9 KB of ids). */
export const DELETE_MAX_IDS = 1_000;
/**
 * `conversations` returns at most this many (the newest): PROTOCOL.md gives it no paging,
 * and 1,000 × ~60 bytes keeps a reply far below NATS's 1 MB payload.
 */
export const CONVERSATIONS_MAX_REPLY = 1_000;
/** A `deleted` live frame carries at most this many ids (deleteAccount may remove more: it sends several frames). */
export const DELETED_FRAME_MAX_IDS = 1_000;
/** Raw request bodies above this are refused unparsed: a maximal valid request (4,000-char text ≤ 16 KB UTF-8) fits four times. */
export const MAX_REQUEST_BYTES = 65_536;
/** A session lives this long after login, measured in entry `ts` (leader time), then it is unauthorized. */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1_000;
/**
 * Each login deletes at most this many expired sessions (of any account): more than the one
 * session a login adds, so the expired backlog drains, and few enough that a login stays cheap.
 */
export const SESSION_SWEEP_PER_LOGIN = 16;
/** Random bytes in a session token: 256 bits, beyond guessing. */
export const TOKEN_BYTES = 32;
