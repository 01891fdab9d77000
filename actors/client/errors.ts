/**
 * Typed errors of the client protocol, one class per PROTOCOL.md error code,
 * so a caller tells them apart with `instanceof` (or `.code`).
 *
 * They are the chat state machine's own classes (actors/chat/errors.ts), so a
 * replica and a client share one hierarchy; the client names them with an
 * `Error` suffix, the nats.js habit (`TimeoutError`, `NoRespondersError`).
 */
import { protocolError, type ProtocolError } from '../chat/errors.ts';
import type { ErrorCode } from '../chat/errors.ts';

export {
  ProtocolError,
  isProtocolError,
  BadRequest as BadRequestError,
  Unauthorized as UnauthorizedError,
  Forbidden as ForbiddenError,
  NotFound as NotFoundError,
  Conflict as ConflictError,
  TooLarge as TooLargeError,
  /**
   * Also what NATS failures (timeout, no responders, disconnected) surface as,
   * with the NATS error as `cause`. A write may or may not have been
   * committed: retry with the same requestId.
   */
  Unavailable as UnavailableError,
  Internal as InternalError,
} from '../chat/errors.ts';

/** The typed error for a wire error code, with an optional cause (e.g. the NATS error). */
export function errorFromCode(code: ErrorCode, message: string, cause?: unknown): ProtocolError {
  const err = protocolError(code, message);
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  return err;
}
