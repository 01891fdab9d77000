/**
 * `quorumchat credentials`: the credentials of a cluster across hosts, made
 * once and copied where they are needed (docs/security.md "Across hosts"):
 * an nkey per role, each seed in its own credentials file (0600), and the
 * nats-server authorization block, which holds only the public keys and so
 * may sit in every host's configuration (`include authorization.conf`).
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nkeys } from '@nats-io/transport-node';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { NATS_ROLES, natsAuthorizationBlock } from '../../config/nats-authorization.ts';
import { writeCredentialsFile } from '../../config/nats-security.ts';
import { CliError, ExitCode } from '../errors.ts';
import { PrefixSchema, parseFlag } from '../options.ts';

/** The public half: safe to copy to every host and to commit. */
export const AUTHORIZATION_FILE = 'authorization.conf';
/** World-readable: it holds public keys only. */
const PUBLIC_FILE_MODE = 0o644;
/** The route password: readable by its owner only. */
const SECRET_FILE_MODE = 0o600;

export function registerCredentialsCommand(program: Command): void {
  program
    .command('credentials')
    .description('make an nkey per role (replica, operator, client) and the nats-server authorization block for them')
    .requiredOption('--out <dir>', 'directory to write replica.json, operator.json, client.json, routes.json (secret, 0600) and authorization.conf (public)')
    .option('--prefix <prefix>', 'subject prefix of the cluster', DEFAULT_PREFIX)
    .addHelpText(
      'after',
      `\nThen: copy replica.json to every replica host (quorumchat replica --nats-auth-file …/replica.json),\n` +
        `operator.json to operators, client.json to chat users; authorization.conf and routes.json to every nats-server host\n` +
        `(quorumchat nats-config --authorization ${AUTHORIZATION_FILE} --route-auth-file ${ROUTES_FILE} …).\n` +
        'It never overwrites: remove the directory\'s files to make new ones.',
    )
    .action((raw: Record<string, unknown>) => {
      const prefix = parseFlag('prefix', PrefixSchema, raw['prefix']);
      const written = writeClusterNkeys(resolve(String(raw['out'])), prefix);
      process.stdout.write(`${written.map((f) => `wrote ${f}`).join('\n')}\n`);
    });
}

/** The servers' route user and password (`nats-config --route-auth-file`): secret, for the nats-server hosts only. */
export const ROUTES_FILE = 'routes.json';
/** Bytes of randomness in the route password: 256 bits. */
const ROUTE_PASSWORD_BYTES = 32;

/** Writes the three seeds, the block and the route credentials; refuses to overwrite any of them (exit 3). Returns the files written. */
export function writeClusterNkeys(dir: string, prefix: string): string[] {
  const files = [...NATS_ROLES.map((role) => join(dir, `${role}.json`)), join(dir, AUTHORIZATION_FILE), join(dir, ROUTES_FILE)];
  const existing = files.filter((f) => existsSync(f));
  if (existing.length > 0) throw new CliError(`${existing.join(', ')} already exist: remove them to make new credentials (every holder of the old ones must then be given the new)`, ExitCode.environment);
  const principals = NATS_ROLES.map((role) => {
    const pair = nkeys.createUser();
    writeCredentialsFile(join(dir, `${role}.json`), { role, nkeySeed: new TextDecoder().decode(pair.getSeed()) });
    return { role, nkey: pair.getPublicKey() };
  });
  const block = `# quorumchat roles for subject prefix '${prefix}' (quorumchat credentials): public keys only.\n${natsAuthorizationBlock(prefix, principals)}`;
  writeFileSync(join(dir, AUTHORIZATION_FILE), block, { mode: PUBLIC_FILE_MODE });
  const routes = { user: `${prefix.replaceAll(/[^A-Za-z0-9_-]/g, '_').slice(0, 48)}-routes`, password: randomBytes(ROUTE_PASSWORD_BYTES).toString('hex') };
  writeFileSync(join(dir, ROUTES_FILE), `${JSON.stringify(routes, null, 2)}\n`, { mode: SECRET_FILE_MODE });
  return files;
}
