/** Typed errors of the peer transport. */

/** A snapshot stream failed; the receiver has discarded (or will time out and discard) what it got. */
export class SnapshotStreamError extends Error {
  override readonly name = 'SnapshotStreamError';
  readonly to: string;

  constructor(to: string, message: string, options?: ErrorOptions) {
    super(`snapshot stream to ${to} failed: ${message}`, options);
    this.to = to;
  }
}
