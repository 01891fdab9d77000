/**
 * How every `quorumchat` command that connects to NATS is told its
 * credentials and TLS files: the same flags everywhere (each names a FILE;
 * a secret never sits on a command line, where `ps` shows it), then the
 * environment (QUORUMCHAT_NATS_*), then, for the tools one runs beside
 * `quorumchat up`, the credentials `up` generated under `./data`.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_DATA_ROOT } from '../config/defaults.ts';
import type { NatsRole } from '../config/nats-authorization.ts';
import { NATS_ENV, NatsAuthSettings, NatsTlsSettings, resolveNatsSecurity, type NatsSecuritySettings } from '../config/nats-security.ts';
import { explainConnectError, natsConnectOptions } from '../actors/transport/nats-connection.ts';
import { UsageError } from './errors.ts';
import { isLoopbackUrl, parseFlag } from './options.ts';

/** `<data root>/credentials/<role>.json`: where `quorumchat up` writes each role's credentials (mode 0600). */
export const CREDENTIALS_DIR = 'credentials';

export function credentialsFileOf(dataRoot: string, role: NatsRole): string {
  return join(resolve(dataRoot), CREDENTIALS_DIR, `${role}.json`);
}

/** The flags' values as commander hands them over (camelCased). */
export interface NatsSecurityFlags {
  readonly natsAuthFile?: unknown;
  readonly natsUser?: unknown;
  readonly natsPasswordFile?: unknown;
  readonly natsTokenFile?: unknown;
  readonly natsNkeyFile?: unknown;
  readonly natsCa?: unknown;
  readonly natsCert?: unknown;
  readonly natsKey?: unknown;
}

/** Adds the authentication and TLS flags (docs/cli.md "Credentials and TLS"). */
export function addNatsSecurityOptions(command: Command): Command {
  return command
    .option('--nats-auth-file <file>', `NATS credentials file (JSON {user, password}, {token} or {nkeySeed}); env ${NATS_ENV.authFile}`)
    .option('--nats-user <name>', `NATS user name, with --nats-password-file; env ${NATS_ENV.user} and ${NATS_ENV.password}`)
    .option('--nats-password-file <file>', 'file whose first line is the NATS password of --nats-user')
    .option('--nats-token-file <file>', `file whose first line is a NATS token; env ${NATS_ENV.token}`)
    .option('--nats-nkey-file <file>', `file holding a NATS nkey seed (SU…); env ${NATS_ENV.nkeySeed}`)
    .option('--nats-ca <file>', `CA certificate to trust for TLS; env ${NATS_ENV.tlsCa}`)
    .option('--nats-cert <file>', `client certificate for TLS, with --nats-key; env ${NATS_ENV.tlsCert}`)
    .option('--nats-key <file>', `client key for TLS; env ${NATS_ENV.tlsKey}`);
}

/**
 * `nats.auth` / `nats.tls` from the flags, each validated by the settings
 * schema; undefined for what the flags leave unset (the environment then
 * applies, in NatsLink and connectNats). For a replica, merge into its
 * configuration's `nats` overrides.
 */
export function natsSecurityOverrides(flags: NatsSecurityFlags): NatsSecuritySettings {
  const given = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const authCandidates = [
    given(flags.natsAuthFile) === undefined ? undefined : { file: given(flags.natsAuthFile) },
    given(flags.natsUser) === undefined && given(flags.natsPasswordFile) === undefined
      ? undefined
      : { user: given(flags.natsUser), passwordFile: given(flags.natsPasswordFile) },
    given(flags.natsTokenFile) === undefined ? undefined : { tokenFile: given(flags.natsTokenFile) },
    given(flags.natsNkeyFile) === undefined ? undefined : { nkeySeedFile: given(flags.natsNkeyFile) },
  ].filter((a) => a !== undefined);
  if ((given(flags.natsUser) === undefined) !== (given(flags.natsPasswordFile) === undefined)) {
    throw new UsageError('--nats-user and --nats-password-file go together');
  }
  if (authCandidates.length > 1) {
    throw new UsageError('give one way to authenticate to NATS: --nats-auth-file, --nats-user with --nats-password-file, --nats-token-file or --nats-nkey-file');
  }
  const auth = authCandidates[0] === undefined ? undefined : parseFlag('nats-*', NatsAuthSettings, authCandidates[0]);
  const tlsGiven = [flags.natsCa, flags.natsCert, flags.natsKey].some((v) => given(v) !== undefined);
  const tls = tlsGiven
    ? parseFlag('nats-ca / --nats-cert / --nats-key', NatsTlsSettings, {
        ...(given(flags.natsCa) === undefined ? {} : { caFile: given(flags.natsCa) }),
        ...(given(flags.natsCert) === undefined ? {} : { certFile: given(flags.natsCert) }),
        ...(given(flags.natsKey) === undefined ? {} : { keyFile: given(flags.natsKey) }),
      })
    : undefined;
  return { ...(auth === undefined ? {} : { auth }), ...(tls === undefined ? {} : { tls }) };
}

/** Adds the security flags and `--data`, where a tool run beside `up` finds `up`'s credentials. */
export function addNatsAccessOptions(command: Command): Command {
  return addNatsSecurityOptions(command).option(
    '--data <dir>',
    `data root of the \`quorumchat up\` whose credentials to use when no credentials are given (default ${DEFAULT_DATA_ROOT})`,
  );
}

/**
 * The security settings of a tool acting as `role` against `servers`: the
 * flags; else, if the environment names no credentials,
 * `<data>/credentials/<role>.json` when it exists; else none (an open
 * server). Without an explicit --data the lookup applies only to a loopback
 * server (where `up` listens), so a local cluster's credentials are never
 * sent to a server elsewhere.
 */
export function natsAccessOf(
  flags: NatsSecurityFlags & { readonly data?: unknown },
  role: NatsRole,
  servers: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NatsSecuritySettings {
  const fromFlags = natsSecurityOverrides(flags);
  if (fromFlags.auth !== undefined) return fromFlags;
  const envNamesCredentials = [NATS_ENV.authFile, NATS_ENV.user, NATS_ENV.token, NATS_ENV.nkeySeed].some((name) => (env[name] ?? '') !== '');
  if (envNamesCredentials) return fromFlags;
  const explicitData = typeof flags.data === 'string' ? flags.data : undefined;
  if (explicitData === undefined && !isLoopbackUrl(servers)) return fromFlags;
  const file = credentialsFileOf(explicitData ?? DEFAULT_DATA_ROOT, role);
  return existsSync(file) ? { ...fromFlags, auth: { file } } : fromFlags;
}

/**
 * A plain nats.js connection with these settings (tools that want their own
 * reconnect policy: status, the dashboard, the inspector). Refused
 * credentials throw NatsAuthError.
 */
export async function connectNats(
  servers: string,
  security: NatsSecuritySettings,
  options: { readonly name: string; readonly timeoutMs?: number; readonly reconnect: boolean; readonly reconnectWaitMs?: number },
): Promise<NatsConnection> {
  const resolved = resolveNatsSecurity(security);
  try {
    return await connect({
      servers,
      name: options.name,
      ...natsConnectOptions(resolved),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      reconnect: options.reconnect,
      ...(options.reconnect ? { maxReconnectAttempts: -1 } : {}),
      ...(options.reconnectWaitMs === undefined ? {} : { reconnectTimeWait: options.reconnectWaitMs }),
    });
  } catch (err) {
    throw explainConnectError(err, servers, resolved.credentials);
  }
}
