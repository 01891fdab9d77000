import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadReplicaConfig } from '../../config/index.ts';
import { NATS_ROLES, natsAuthorizationBlock, rolePermissions, UnquotableSecretError } from '../../config/nats-authorization.ts';
import { NATS_ENV, NatsCredentialsError, resolveNatsSecurity, writeCredentialsFile } from '../../config/nats-security.ts';
import { natsAccessOf, natsSecurityOverrides } from '../../cli/nats-access.ts';
import { UsageError } from '../../cli/errors.ts';
import { AUTHORIZATION_FILE, writeClusterNkeys } from '../../cli/commands/credentials.ts';
import { nkeys } from '@nats-io/transport-node';
import { NATS_SERVER_BIN } from '../integration/support/nats-server.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qc-sec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('settings name files; the secrets are read from them (first line only)', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'pw'), 's3cret\n');
  writeFileSync(join(dir, 'token'), 'tok\n');
  const user = resolveNatsSecurity({ auth: { user: 'ops', passwordFile: join(dir, 'pw') } }, {});
  t.like(user.credentials, { kind: 'user', user: 'ops', password: 's3cret' });
  t.like(resolveNatsSecurity({ auth: { tokenFile: join(dir, 'token') } }, {}).credentials, { kind: 'token', token: 'tok' });
  t.deepEqual(resolveNatsSecurity({}, {}), { credentials: null, tls: null });
});

test('the environment applies only where the settings are silent, and one way at a time', (t) => {
  const env = { [NATS_ENV.user]: 'u', [NATS_ENV.password]: 'p' };
  t.like(resolveNatsSecurity({}, env).credentials, { kind: 'user', user: 'u', password: 'p', source: `environment ${NATS_ENV.user}` });
  t.like(resolveNatsSecurity({}, { [NATS_ENV.token]: 't' }).credentials, { kind: 'token', token: 't' });
  t.throws(() => resolveNatsSecurity({}, { ...env, [NATS_ENV.token]: 't' }), { instanceOf: NatsCredentialsError, message: /only one way/ });
  t.throws(() => resolveNatsSecurity({}, { [NATS_ENV.user]: 'u' }), { instanceOf: NatsCredentialsError, message: /PASSWORD is not/ });
  t.throws(() => resolveNatsSecurity({ auth: { file: '/nonexistent/qc.json' } }, env), { instanceOf: NatsCredentialsError, message: /cannot read \/nonexistent\/qc.json \(nats.auth.file\): ENOENT/ });
});

test('credentials files are written 0600 in a 0700 directory and read back', (t) => {
  const file = join(tempDir(t), 'credentials', 'client.json');
  writeCredentialsFile(file, { role: 'client', user: 'client', password: 'pw' });
  t.is(statSync(file).mode & 0o777, 0o600);
  t.is(statSync(join(file, '..')).mode & 0o777, 0o700);
  t.like(resolveNatsSecurity({ auth: { file } }, {}).credentials, { kind: 'user', user: 'client', password: 'pw' });
});

test('nats.auth and nats.tls are part of the replica configuration, validated', (t) => {
  const base = { id: 'r1', peers: ['r1'], dataDir: '/tmp/qc-r1' };
  const c = loadReplicaConfig({ overrides: { ...base, nats: { auth: { file: '/etc/qc/replica.json' }, tls: { caFile: '/etc/qc/ca.pem' } } } });
  t.deepEqual(c.nats.auth, { file: '/etc/qc/replica.json' });
  t.deepEqual(c.nats.tls, { caFile: '/etc/qc/ca.pem' });
  // A password itself is not a setting: secrets come from files or the environment.
  t.throws(() => loadReplicaConfig({ overrides: { ...base, nats: { auth: { user: 'r', password: 'x' } } } }), { instanceOf: ConfigError, message: /nats.auth/ });
  t.throws(() => loadReplicaConfig({ overrides: { ...base, nats: { tls: { certFile: '/c.pem' } } } }), { instanceOf: ConfigError, message: /certFile and keyFile go together/ });
});

test('tools find up credentials under --data unless flags or the environment name others', (t) => {
  const data = tempDir(t);
  const local = 'nats://127.0.0.1:4222';
  t.deepEqual(natsAccessOf({ data }, 'client', local, {}), {}, 'nothing there: no credentials');
  writeCredentialsFile(join(data, 'credentials', 'client.json'), { user: 'client', password: 'pw' });
  t.deepEqual(natsAccessOf({ data }, 'client', local, {}), { auth: { file: join(data, 'credentials', 'client.json') } });
  t.deepEqual(natsAccessOf({ data }, 'client', 'nats://h1:4222', {}), { auth: { file: join(data, 'credentials', 'client.json') } }, 'an explicit --data applies anywhere');
  t.deepEqual(natsAccessOf({ data }, 'client', local, { [NATS_ENV.token]: 't' }), {}, 'the environment wins over the lookup');
  t.deepEqual(natsAccessOf({ data, natsTokenFile: '/t' }, 'client', local, {}), { auth: { tokenFile: '/t' } });
  t.deepEqual(natsAccessOf({}, 'client', 'nats://h1:4222', {}), {}, "./data's credentials never go to a remote server unasked");
});

test('a client may publish only api requests (shared or aimed at one replica) and subscribe only to inboxes and live frames', (t) => {
  t.deepEqual(rolePermissions('client', 'qc'), { publish: ['qc.api.*', 'qc.replica.*.api.*'], subscribe: ['qc.live.*', '_INBOX.>'] });
  const replica = rolePermissions('replica', 'qc');
  t.true(replica.publish.includes('qc.raft.*.*') && replica.subscribe.includes('qc.api.*') && replica.subscribe.includes('qc.replica.*.api.*'));
  t.false(rolePermissions('operator', 'qc').publish.some((s) => s.startsWith('qc.raft')));
  const block = natsAuthorizationBlock('qc', [{ role: 'client', user: 'client', password: 'pw' }, { role: 'replica', nkey: 'UABC' }]);
  t.regex(block, /\{ user: "client", password: "pw", permissions: \{\n\s+publish: \{ allow: \["qc.api.\*", "qc.replica.\*.api.\*"\] \}/);
  t.regex(block, /\{ nkey: "UABC", permissions/);
  t.throws(() => natsAuthorizationBlock('qc', [{ role: 'client', user: 'client', password: 'a"b' }]), { instanceOf: UnquotableSecretError });
});

test('quorumchat credentials: an nkey seed per role (0600) and an authorization block nats-server accepts', (t) => {
  const dir = tempDir(t);
  writeClusterNkeys(dir, 'qc');
  const block = readFileSync(join(dir, AUTHORIZATION_FILE), 'utf8');
  for (const role of NATS_ROLES) {
    const file = join(dir, `${role}.json`);
    t.is(statSync(file).mode & 0o777, 0o600);
    const credentials = resolveNatsSecurity({ auth: { file } }, {}).credentials;
    if (credentials?.kind !== 'nkey') return t.fail(`${role}.json holds an nkey seed`);
    const publicKey = nkeys.fromSeed(new TextEncoder().encode(credentials.seed)).getPublicKey();
    t.true(block.includes(`# ${role}\n    { nkey: "${publicKey}"`), `${role}'s public key carries its permissions`);
  }
  t.false(block.includes('"S'), 'no seed in the public block');
  writeFileSync(join(dir, 'server.conf'), `port: 4222\ninclude ${AUTHORIZATION_FILE}\n`);
  t.notThrows(() => execFileSync(NATS_SERVER_BIN, ['-c', join(dir, 'server.conf'), '-t'], { stdio: 'pipe' }));
  t.throws(() => writeClusterNkeys(dir, 'qc'), { message: /already exist/ });
});

test('credential flags: one way to authenticate, user and password file together, TLS validated', (t) => {
  t.deepEqual(natsSecurityOverrides({ natsUser: 'ops', natsPasswordFile: '/pw', natsCa: '/ca.pem' }), { auth: { user: 'ops', passwordFile: '/pw' }, tls: { caFile: '/ca.pem' } });
  t.throws(() => natsSecurityOverrides({ natsPasswordFile: '/pw' }), { instanceOf: UsageError, message: /--nats-user and --nats-password-file go together/ });
  t.throws(() => natsSecurityOverrides({ natsAuthFile: '/a', natsTokenFile: '/t' }), { instanceOf: UsageError, message: /one way to authenticate/ });
  t.throws(() => natsSecurityOverrides({ natsCert: '/c.pem' }), { instanceOf: UsageError, message: /certFile and keyFile go together/ });
});
