/**
 * A secured NATS for the security tests (docs/security.md): per-role
 * credentials files and a nats-server configuration carrying
 * config/nats-authorization.ts's permissions, and connections as one role.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsConnectOptions } from '../../../actors/transport/nats-connection.ts';
import { NATS_ROLES, natsAuthorizationBlock, type NatsRole } from '../../../config/nats-authorization.ts';
import { resolveNatsSecurity, writeCredentialsFile, type NatsSecuritySettings } from '../../../config/nats-security.ts';

export interface Secured {
  readonly dir: string;
  readonly configFile: string;
  security(role: NatsRole): NatsSecuritySettings;
}

/** Per-role credentials files and a nats-server configuration with the roles' permissions for `prefix`. */
export function secure(t: { teardown(fn: () => void): void }, prefix: string): Secured {
  const dir = mkdtempSync(join(tmpdir(), 'quorumchat-sec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (role: NatsRole): string => join(dir, 'credentials', `${role}.json`);
  const principals = NATS_ROLES.map((role) => {
    const credentials = { user: role, password: randomBytes(24).toString('base64url') };
    writeCredentialsFile(file(role), { role, ...credentials });
    return { role, ...credentials };
  });
  const configFile = join(dir, 'nats-server.conf');
  writeFileSync(configFile, natsAuthorizationBlock(prefix, principals));
  return { dir, configFile, security: (role) => ({ auth: { file: file(role) } }) };
}

export async function connectAs(url: string, security: NatsSecuritySettings): Promise<NatsConnection> {
  return await connect({ servers: url, ...natsConnectOptions(resolveNatsSecurity(security, {})) });
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
