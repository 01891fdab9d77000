/**
 * How the `quorumchat` command ends: every failure maps to a clear one-line
 * message and an exit code a script can tell apart.
 */
import { NatsServerNotFoundError, NatsServerStartError, PortInUseError } from './supervisor/nats-server.ts';
import { DataRootError, ReplicasExitedError } from './supervisor/local-cluster.ts';
import { LeaderWaitTimeoutError } from './supervisor/cluster-status.ts';
import { ConfigError } from '../config/index.ts';
import { UnavailableError } from '../actors/client/index.ts';
import { NatsAuthError } from '../actors/transport/nats-connection.ts';
import { NatsCredentialsError } from '../config/nats-security.ts';

/** Exit codes of every `quorumchat` command. */
export const ExitCode = {
  ok: 0,
  /** Anything not listed below (a bug, an I/O error). */
  failure: 1,
  /** A bad flag or value. */
  usage: 2,
  /** The machine is not ready: nats-server missing, port taken, data directory in use or of another shape, NATS credentials refused or unreadable. */
  environment: 3,
  /** The cluster did not answer or has no leader. */
  unavailable: 4,
  /** Stopped by a signal (Ctrl-C twice). */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure whose message is already meant for the operator. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode: ExitCode = ExitCode.failure) {
    super(message);
  }
}

/** A bad option value, reported like commander's own usage errors. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigError) return ExitCode.usage;
  if (err instanceof NatsServerNotFoundError || err instanceof PortInUseError || err instanceof DataRootError) return ExitCode.environment;
  if (err instanceof NatsAuthError || err instanceof NatsCredentialsError) return ExitCode.environment;
  if (err instanceof UnavailableError || err instanceof LeaderWaitTimeoutError || err instanceof ReplicasExitedError || err instanceof NatsServerStartError) {
    return ExitCode.unavailable;
  }
  return ExitCode.failure;
}

/** The text printed for an error: its message, plus the stack only for what looks like a bug. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return exitCodeOf(err) === ExitCode.failure && !(err instanceof CliError) ? (err.stack ?? err.message) : err.message;
}
