/**
 * `quorumchat up` is secure by default (DESIGN.md): one generated user per
 * role under `<data root>/credentials/` (mode 0600, directory 0700), and a
 * nats-server configuration granting each its role's permissions
 * (config/nats-authorization.ts), so a connection without credentials is
 * refused. A second `up` on the same data root reuses the credentials, so
 * tools and clients keep working across restarts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATS_ROLES, natsAuthorizationBlock, type NatsPrincipal, type NatsRole } from '../../config/nats-authorization.ts';
import { CREDENTIALS_DIR_MODE, CREDENTIALS_FILE_MODE, NATS_ENV, readCredentialsFile, writeCredentialsFile, type NatsSecuritySettings } from '../../config/nats-security.ts';
import { credentialsFileOf } from '../nats-access.ts';
import { DEFAULT_PING_INTERVAL, DEFAULT_PING_MAX } from '../format/nats-config.ts';

/** 32 random bytes: 256 bits, beyond any guessing; base64url keeps them quotable in nats-server's configuration. */
const PASSWORD_BYTES = 32;
/** The embedded server's configuration; it holds the passwords, so it is 0600 like the credentials. */
export const NATS_SERVER_CONFIG_FILE = 'nats-server.conf';

/**
 * The ping settings `nats-config` generates for hosts (cli/format/nats-config.ts says why): with
 * nats-server's default (2 minutes, 2 pings) a paused or hung replica keeps its subscriptions for
 * minutes, the leader's 32 in the client queue group among them (actors/replica/leader-share.ts),
 * and most requests vanish into it; with these it is dropped within about 4 s.
 */
export const LIVENESS_SETTINGS = `ping_interval: "${DEFAULT_PING_INTERVAL}"\nping_max: ${DEFAULT_PING_MAX}\n`;

/** Each role's user and password; the user name is the role's name. */
export type ClusterCredentials = Readonly<Record<NatsRole, { readonly user: string; readonly password: string }>>;

/**
 * Reads `<root>/credentials/<role>.json` for every role, generating what is
 * missing, and writes `<root>/nats-server.conf`. Returns the config's path.
 * The data root itself is made 0700: it holds the credentials and every
 * replica's database.
 */
export function prepareClusterSecurity(dataRoot: string, prefix: string): { readonly natsConfigFile: string; readonly credentials: ClusterCredentials } {
  chmodSync(dataRoot, CREDENTIALS_DIR_MODE);
  const credentials = Object.fromEntries(NATS_ROLES.map((role) => [role, ensureRoleCredentials(dataRoot, role)])) as Record<NatsRole, { user: string; password: string }>;
  const principals: NatsPrincipal[] = NATS_ROLES.map((role) => ({ role, ...credentials[role] }));
  const natsConfigFile = join(dataRoot, NATS_SERVER_CONFIG_FILE);
  writeFileSync(natsConfigFile, `# written by quorumchat up: every connection must authenticate as one of these roles\n${LIVENESS_SETTINGS}${natsAuthorizationBlock(prefix, principals)}`, {
    mode: CREDENTIALS_FILE_MODE,
  });
  chmodSync(natsConfigFile, CREDENTIALS_FILE_MODE);
  return { natsConfigFile, credentials };
}

/** The settings a process of `role` uses to connect to this data root's server. */
export function roleSecurity(dataRoot: string, role: NatsRole): NatsSecuritySettings {
  return { auth: { file: credentialsFileOf(dataRoot, role) } };
}

/**
 * Environment for the replica processes: the replica credentials file, and
 * every other QUORUMCHAT_NATS_* of this process emptied, so an operator's
 * own variables cannot override or clash with it.
 */
export function replicaNatsEnv(dataRoot: string): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(Object.values(NATS_ENV).map((name) => [name, '']));
  env[NATS_ENV.authFile] = credentialsFileOf(dataRoot, 'replica');
  return env;
}

function ensureRoleCredentials(dataRoot: string, role: NatsRole): { user: string; password: string } {
  const file = credentialsFileOf(dataRoot, role);
  if (existsSync(file)) {
    const found = readCredentialsFile(file);
    if (found.kind === 'user' && found.user === role) {
      chmodSync(file, CREDENTIALS_FILE_MODE);
      return { user: found.user, password: found.password };
    }
  }
  const generated = { user: role, password: randomBytes(PASSWORD_BYTES).toString('base64url') };
  writeCredentialsFile(file, { role, ...generated });
  return generated;
}
