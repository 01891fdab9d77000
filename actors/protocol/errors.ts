/**
 * The protocol's error codes (PROTOCOL.md "Replies") as typed errors, one
 * class per code, and the reply envelope. The replica answers with these
 * classes (`toReply`) and the client throws them (`errorFromCode`), so both
 * sides share one hierarchy and a caller tells codes apart with `instanceof`.
 */

/** Every error code of PROTOCOL.md, in its table's order. */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** `{ok: false, error: {code, message}}`, PROTOCOL.md "Replies". */
export interface ErrorReply {
  readonly ok: false;
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/** `{ok: true, ...body}`. */
export type OkReply<Body extends object = Record<string, unknown>> = { readonly ok: true } & Body;

/** Base of every protocol error; `code` is the wire code it maps onto one to one. */
export abstract class ProtocolError extends Error {
  abstract readonly code: ErrorCode;

  toReply(): ErrorReply {
    return { ok: false, error: { code: this.code, message: this.message } };
  }
}

/** Malformed JSON, missing or ill-typed field, value out of range. */
export class BadRequest extends ProtocolError {
  readonly code = 'bad_request' as const;
  override readonly name = 'BadRequest';
}
/** Missing, unknown, expired or revoked token; wrong password. */
export class Unauthorized extends ProtocolError {
  readonly code = 'unauthorized' as const;
  override readonly name = 'Unauthorized';
}
/** Authenticated, but not allowed to do this. */
export class Forbidden extends ProtocolError {
  readonly code = 'forbidden' as const;
  override readonly name = 'Forbidden';
}
/** The named account or message does not exist. */
export class NotFound extends ProtocolError {
  readonly code = 'not_found' as const;
  override readonly name = 'NotFound';
}
/** The request contradicts the state, e.g. the username is taken. */
export class Conflict extends ProtocolError {
  readonly code = 'conflict' as const;
  override readonly name = 'Conflict';
}
/** A body or field over its limit. */
export class TooLarge extends ProtocolError {
  readonly code = 'too_large' as const;
  override readonly name = 'TooLarge';
}
/** The cluster could not commit in time; the write may or may not have been committed. */
export class Unavailable extends ProtocolError {
  readonly code = 'unavailable' as const;
  override readonly name = 'Unavailable';
}
/** A bug: the replica logs it and keeps running. */
export class Internal extends ProtocolError {
  readonly code = 'internal' as const;
  override readonly name = 'Internal';
}

const BY_CODE: Readonly<Record<ErrorCode, new (message: string) => ProtocolError>> = {
  bad_request: BadRequest,
  unauthorized: Unauthorized,
  forbidden: Forbidden,
  not_found: NotFound,
  conflict: Conflict,
  too_large: TooLarge,
  unavailable: Unavailable,
  internal: Internal,
};

/** The typed error for a wire code: what the client throws for an error reply. */
export function errorFromCode(code: ErrorCode, message: string): ProtocolError {
  return new BY_CODE[code](message);
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
