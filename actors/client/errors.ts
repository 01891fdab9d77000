/**
 * The protocol's typed errors (actors/protocol/errors.ts), one class per
 * PROTOCOL.md error code, under the names the client library gives them:
 * an `Error` suffix, the nats.js habit (`TimeoutError`, `NoRespondersError`).
 * They are the very classes a replica replies with, so `instanceof` and
 * `.code` work the same on both sides.
 */
export {
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
} from '../protocol/index.ts';
