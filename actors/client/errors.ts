/**
 * Typed errors of the client protocol, one class per PROTOCOL.md error code,
 * so a caller tells them apart with `instanceof` (or `.code`).
 */
import type { ErrorCode } from './protocol.ts';

/** Base of every protocol error; `code` is the wire code it maps onto. */
export abstract class ProtocolError extends Error {
  abstract readonly code: ErrorCode;
}

/** Malformed JSON, missing or ill-typed field, value out of range. */
export class BadRequestError extends ProtocolError {
  readonly code = 'bad_request' as const;
  override readonly name = 'BadRequestError';
}
/** Missing, unknown, expired or revoked token; wrong password. */
export class UnauthorizedError extends ProtocolError {
  readonly code = 'unauthorized' as const;
  override readonly name = 'UnauthorizedError';
}
/** Authenticated, but not allowed to do this. */
export class ForbiddenError extends ProtocolError {
  readonly code = 'forbidden' as const;
  override readonly name = 'ForbiddenError';
}
/** The named account or message does not exist. */
export class NotFoundError extends ProtocolError {
  readonly code = 'not_found' as const;
  override readonly name = 'NotFoundError';
}
/** E.g. the username is taken. */
export class ConflictError extends ProtocolError {
  readonly code = 'conflict' as const;
  override readonly name = 'ConflictError';
}
/** A body or field over its limit. */
export class TooLargeError extends ProtocolError {
  readonly code = 'too_large' as const;
  override readonly name = 'TooLargeError';
}
/**
 * The cluster could not answer in time (no quorum, election), or NATS could
 * not carry the request (timeout, no responders, disconnected: see `cause`).
 * A write may or may not have been committed: retry with the same requestId.
 */
export class UnavailableError extends ProtocolError {
  readonly code = 'unavailable' as const;
  override readonly name = 'UnavailableError';
}
/** A bug on the replica (or a reply that does not follow the protocol). */
export class InternalError extends ProtocolError {
  readonly code = 'internal' as const;
  override readonly name = 'InternalError';
}

const BY_CODE: Readonly<Record<ErrorCode, new (message: string, options?: ErrorOptions) => ProtocolError>> = {
  bad_request: BadRequestError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  conflict: ConflictError,
  too_large: TooLargeError,
  unavailable: UnavailableError,
  internal: InternalError,
};

/** The typed error for a wire error code. */
export function errorFromCode(code: ErrorCode, message: string, options?: ErrorOptions): ProtocolError {
  return new BY_CODE[code](message, options);
}
