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
import { Internal } from '../protocol/index.ts';

/**
 * docs/protocol.md §2.5: this client asked for a sealed reply (`replyKey`) and the replica
 * answered in the clear with something a sealing replica never sends in the clear (anything
 * but a `bad_request`, `too_large` or `unavailable` refusal). Only a replica older than
 * sealing (or a broken one) does that; the client refuses the reply rather than downgrade.
 * An `internal` error, so callers that handle InternalError need nothing new.
 */
export class NotSealedError extends Internal {
  /** Tells it apart from other internal errors where `instanceof` is not at hand (logs). */
  readonly notSealed = true;
}
