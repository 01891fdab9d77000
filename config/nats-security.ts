/**
 * How a process proves who it is to NATS (`nats.auth`) and protects the
 * connection (`nats.tls`): the settings shape, the environment variables,
 * the credentials file `quorumchat up` writes, and resolving all of it into
 * the secrets a connection uses (docs/security.md, docs/configuration.md).
 *
 * Secrets never come from a command line (where `ps` shows them to every
 * user): settings name FILES; the environment may carry a secret itself.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

/** Environment variables every NATS-connecting command reads (docs/cli.md). */
export const NATS_ENV = {
  /** A credentials file (see CredentialsFile), e.g. ./data/credentials/client.json. */
  authFile: 'QUORUMCHAT_NATS_AUTH_FILE',
  user: 'QUORUMCHAT_NATS_USER',
  password: 'QUORUMCHAT_NATS_PASSWORD',
  token: 'QUORUMCHAT_NATS_TOKEN',
  /** An nkey seed (`SU…`) itself. */
  nkeySeed: 'QUORUMCHAT_NATS_NKEY_SEED',
  tlsCa: 'QUORUMCHAT_NATS_TLS_CA',
  tlsCert: 'QUORUMCHAT_NATS_TLS_CERT',
  tlsKey: 'QUORUMCHAT_NATS_TLS_KEY',
} as const;

/** A NATS user name: what nats-server's `authorization.users[].user` accepts without quoting trouble. */
const USER_PATTERN = /^[A-Za-z0-9_.@-]{1,128}$/;
const FilePath = z.string().min(1, 'must be a file path');
const UserName = z.string().regex(USER_PATTERN, 'must be 1 to 128 characters of A-Z a-z 0-9 _ . @ -');

/**
 * `nats.auth`: exactly one way to authenticate, each naming a file.
 * - `file`: a credentials file (CredentialsFile below), what `up` writes
 * - `user` + `passwordFile`
 * - `tokenFile`
 * - `nkeySeedFile`: a file holding an nkey seed (`SU…`, from `nk -gen user`)
 */
export const NatsAuthSettings = z.union(
  [
    z.strictObject({ file: FilePath }),
    z.strictObject({ user: UserName, passwordFile: FilePath }),
    z.strictObject({ tokenFile: FilePath }),
    z.strictObject({ nkeySeedFile: FilePath }),
  ],
  { error: 'must be one of {file}, {user, passwordFile}, {tokenFile} or {nkeySeedFile}' },
);
export type NatsAuthSettings = z.output<typeof NatsAuthSettings>;

/** `nats.tls`: any of a CA to trust, and a client certificate with its key (both or neither). */
export const NatsTlsSettings = z
  .strictObject({ caFile: FilePath.optional(), certFile: FilePath.optional(), keyFile: FilePath.optional() })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'certFile and keyFile go together', path: ['keyFile'] });
export type NatsTlsSettings = z.output<typeof NatsTlsSettings>;

/** The part of `nats` settings this module reads. */
export interface NatsSecuritySettings {
  readonly auth?: NatsAuthSettings | undefined;
  readonly tls?: NatsTlsSettings | undefined;
}

/** The JSON of a credentials file: one way to authenticate, with its secret; `role` only says what it is for. */
export const CredentialsFile = z.union([
  z.strictObject({ role: z.string().optional(), user: UserName, password: z.string().min(1) }),
  z.strictObject({ role: z.string().optional(), token: z.string().min(1) }),
  z.strictObject({ role: z.string().optional(), nkeySeed: z.string().min(1) }),
]);
export type CredentialsFile = z.output<typeof CredentialsFile>;

/** Resolved credentials: the secret itself, and where it came from (for error messages, never the secret). */
export type NatsCredentials =
  | { readonly kind: 'user'; readonly user: string; readonly password: string; readonly source: string }
  | { readonly kind: 'token'; readonly token: string; readonly source: string }
  | { readonly kind: 'nkey'; readonly seed: string; readonly source: string };

/** What a connection uses: credentials (or none: an open server) and TLS files (or none). */
export interface NatsSecurity {
  readonly credentials: NatsCredentials | null;
  readonly tls: NatsTlsSettings | null;
}

/** A credentials or TLS file cannot be read or is malformed; names the file and the setting, never the secret. */
export class NatsCredentialsError extends Error {
  override readonly name = 'NatsCredentialsError';
}

/** Only the owner may read a credentials file; its directory likewise. */
export const CREDENTIALS_FILE_MODE = 0o600;
export const CREDENTIALS_DIR_MODE = 0o700;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Settings first, the environment for whatever they leave unset (auth and
 * TLS each as a whole), then the files read. Throws NatsCredentialsError.
 */
export function resolveNatsSecurity(settings: NatsSecuritySettings = {}, env: Env = process.env): NatsSecurity {
  const credentials = settings.auth !== undefined ? credentialsFromSettings(settings.auth) : credentialsFromEnv(env);
  const tls = settings.tls ?? tlsFromEnv(env);
  if (tls !== null) for (const file of [tls.caFile, tls.certFile, tls.keyFile]) if (file !== undefined) readSecretFile(file, 'nats.tls');
  return { credentials, tls };
}

/** Who these credentials say we are, for logs and errors: "user 'client'", "a token", "nkey UA…". */
export function describeCredentials(credentials: NatsCredentials | null): string {
  if (credentials === null) return 'no credentials';
  if (credentials.kind === 'user') return `user '${credentials.user}' (${credentials.source})`;
  if (credentials.kind === 'token') return `a token (${credentials.source})`;
  return `an nkey seed (${credentials.source})`;
}

/** Reads and validates a credentials file. */
export function readCredentialsFile(file: string): NatsCredentials {
  const text = readSecretFile(file, 'nats.auth.file');
  let parsed: CredentialsFile;
  try {
    parsed = CredentialsFile.parse(JSON.parse(text));
  } catch {
    throw new NatsCredentialsError(`${file} is not a quorumchat credentials file: it must hold JSON {user, password}, {token} or {nkeySeed}`);
  }
  const source = `credentials file ${file}`;
  if ('user' in parsed) return { kind: 'user', user: parsed.user, password: parsed.password, source };
  if ('token' in parsed) return { kind: 'token', token: parsed.token, source };
  return { kind: 'nkey', seed: parsed.nkeySeed, source };
}

/** Writes a credentials file readable by its owner only, creating its directory (mode 0700) if needed. */
export function writeCredentialsFile(file: string, credentials: CredentialsFile): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: CREDENTIALS_DIR_MODE });
  // mkdir's mode is cut by the umask and ignored for an existing directory: set it explicitly.
  chmodSync(dir, CREDENTIALS_DIR_MODE);
  writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: CREDENTIALS_FILE_MODE });
  chmodSync(file, CREDENTIALS_FILE_MODE);
}

function credentialsFromSettings(auth: NatsAuthSettings): NatsCredentials {
  if ('file' in auth) return readCredentialsFile(auth.file);
  if ('passwordFile' in auth) {
    return { kind: 'user', user: auth.user, password: firstLine(readSecretFile(auth.passwordFile, 'nats.auth.passwordFile'), auth.passwordFile), source: `password file ${auth.passwordFile}` };
  }
  if ('tokenFile' in auth) return { kind: 'token', token: firstLine(readSecretFile(auth.tokenFile, 'nats.auth.tokenFile'), auth.tokenFile), source: `token file ${auth.tokenFile}` };
  return { kind: 'nkey', seed: firstLine(readSecretFile(auth.nkeySeedFile, 'nats.auth.nkeySeedFile'), auth.nkeySeedFile), source: `nkey seed file ${auth.nkeySeedFile}` };
}

function credentialsFromEnv(env: Env): NatsCredentials | null {
  const set = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const found = [NATS_ENV.authFile, NATS_ENV.user, NATS_ENV.token, NATS_ENV.nkeySeed].filter((name) => set(name) !== undefined);
  if (found.length > 1) throw new NatsCredentialsError(`set only one way to authenticate to NATS, not ${found.join(' and ')}`);
  const authFile = set(NATS_ENV.authFile);
  if (authFile !== undefined) return readCredentialsFile(authFile);
  const user = set(NATS_ENV.user);
  if (user !== undefined) {
    const password = set(NATS_ENV.password);
    if (password === undefined) throw new NatsCredentialsError(`${NATS_ENV.user} is set but ${NATS_ENV.password} is not`);
    if (!USER_PATTERN.test(user)) throw new NatsCredentialsError(`${NATS_ENV.user} must be 1 to 128 characters of A-Z a-z 0-9 _ . @ -`);
    return { kind: 'user', user, password, source: `environment ${NATS_ENV.user}` };
  }
  const token = set(NATS_ENV.token);
  if (token !== undefined) return { kind: 'token', token, source: `environment ${NATS_ENV.token}` };
  const seed = set(NATS_ENV.nkeySeed);
  if (seed !== undefined) return { kind: 'nkey', seed, source: `environment ${NATS_ENV.nkeySeed}` };
  return null;
}

function tlsFromEnv(env: Env): NatsTlsSettings | null {
  const caFile = env[NATS_ENV.tlsCa] || undefined;
  const certFile = env[NATS_ENV.tlsCert] || undefined;
  const keyFile = env[NATS_ENV.tlsKey] || undefined;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return null;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new NatsCredentialsError(`${NATS_ENV.tlsCert} and ${NATS_ENV.tlsKey} go together`);
  return { ...(caFile === undefined ? {} : { caFile }), ...(certFile === undefined ? {} : { certFile }), ...(keyFile === undefined ? {} : { keyFile }) };
}

function readSecretFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new NatsCredentialsError(`cannot read ${file} (${setting}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Secret files written by `echo` or an editor end with a newline that is not part of the secret. */
function firstLine(text: string, file: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new NatsCredentialsError(`${file} must hold the secret on its first line`);
  return line;
}
