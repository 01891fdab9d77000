/**
 * The chat state machine's own limits, each with the reason for its value.
 * The limits of the wire contract (field lengths, page sizes, the request
 * body) are the protocol's: actors/protocol/limits.ts.
 */

/**
 * `conversations` returns at most this many (the newest): PROTOCOL.md gives it no paging,
 * and 1,000 × ~60 bytes keeps a reply far below NATS's 1 MB payload.
 */
export const CONVERSATIONS_MAX_REPLY = 1_000;
/** A `deleted` live frame carries at most this many ids (deleteAccount may remove more: it sends several frames). */
export const DELETED_FRAME_MAX_IDS = 1_000;
/** A session lives this long after login, measured in entry `ts` (leader time), then it is unauthorized. */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1_000;
/**
 * Each login deletes at most this many expired sessions (of any account): more than the one
 * session a login adds, so the expired backlog drains, and few enough that a login stays cheap.
 */
export const SESSION_SWEEP_PER_LOGIN = 16;
/** Random bytes in a session token: 256 bits, beyond guessing. */
export const TOKEN_BYTES = 32;
