import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadClusterConfig, loadReplicaConfig, parseReplicaConfig, defaults } from '../../config/index.ts';
import { DEFAULT_MAX_REQUEST_BYTES, REPLICA_ID_PATTERN } from '../../actors/protocol/index.ts';

const minimal = { id: 'r1', peers: ['r1', 'r2', 'r3'], dataDir: '/tmp/qc-r1' };

function tempFile(t: { teardown(fn: () => void): void }, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'qc-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'replica.json');
  writeFileSync(file, content);
  return file;
}

function problemsOf(t: { throws: (fn: () => unknown, opts: object) => unknown }, fn: () => unknown): string[] {
  const err = t.throws(fn, { instanceOf: ConfigError }) as ConfigError;
  return [...err.problems];
}

test('a minimal replica config gets every default', (t) => {
  const c = loadReplicaConfig({ overrides: minimal });
  t.is(c.prefix, defaults.DEFAULT_PREFIX);
  t.deepEqual(c.nats.servers, [`nats://${defaults.DEFAULT_NATS_HOST}:${defaults.DEFAULT_NATS_PORT}`]);
  t.deepEqual(c.timing, { heartbeatMs: defaults.DEFAULT_HEARTBEAT_MS, electionMinMs: defaults.DEFAULT_ELECTION_MIN_MS, electionMaxMs: defaults.DEFAULT_ELECTION_MAX_MS });
  t.is(c.limits.maxPeerMessageBytes, defaults.DEFAULT_MAX_PEER_MESSAGE_BYTES);
  t.is(c.requestDeadlineMs, defaults.DEFAULT_REQUEST_DEADLINE_MS);
  t.is(c.logLevel, 'info');
});

test('flags merge over the file, which merges over defaults', (t) => {
  const file = tempFile(t, JSON.stringify({ ...minimal, prefix: 'acme.chat', timing: { heartbeatMs: 50, electionMinMs: 500 }, nats: { servers: ['nats://10.0.0.1:4222'] } }));
  const c = loadReplicaConfig({ file, overrides: { timing: { electionMinMs: 450, electionMaxMs: undefined }, nats: { servers: 'nats://a:1, nats://b:2' }, logLevel: undefined } });
  t.is(c.prefix, 'acme.chat');
  t.deepEqual(c.timing, { heartbeatMs: 50, electionMinMs: 450, electionMaxMs: defaults.DEFAULT_ELECTION_MAX_MS });
  t.deepEqual(c.nats.servers, ['nats://a:1', 'nats://b:2'], 'comma-separated lists from flags replace the file\'s list');
  t.is(c.logLevel, 'info', 'undefined flags do not erase anything');
});

test('every problem is listed with its path in plain words', (t) => {
  const problems = problemsOf(t, () =>
    loadReplicaConfig({
      overrides: { id: 'r3', peers: 'r1,r2,r2', dataDir: '/d', timing: { heartbeatMs: 500, electionMaxMs: 'soon' }, colour: 'red', limits: { snapshotChunkBytes: 2_000_000 } },
    }),
  );
  t.deepEqual(problems.sort(), [
    "colour: is not a setting",
    "limits.snapshotChunkBytes: must be below limits.maxPeerMessageBytes (1048576), or every such peer message would be dropped as oversized",
    "peers: must include this replica's own id 'r3'",
    "peers[2]: 'r2' is listed twice",
    'timing.electionMaxMs: must be a number (got "soon")',
    'timing.electionMinMs: must be at least 3 heartbeats (1500 ms with heartbeatMs 500), or one late heartbeat starts an election',
  ]);
});

test('cross-field timing and deadline rules', (t) => {
  let problems = problemsOf(t, () => loadReplicaConfig({ overrides: { ...minimal, timing: { electionMinMs: 2000, electionMaxMs: 2000 } } }));
  t.true(problems.some((p) => p.startsWith('timing.electionMaxMs: must be greater than timing.electionMinMs (2000 ms)')));
  t.false(problems.some((p) => p.startsWith('requestDeadlineMs:')), 'the default deadline outlasts a 2000 ms election');
  problems = problemsOf(t, () => loadReplicaConfig({ overrides: { ...minimal, requestDeadlineMs: 500 } }));
  t.deepEqual(problems, [`requestDeadlineMs: must be longer than timing.electionMaxMs (${defaults.DEFAULT_ELECTION_MAX_MS} ms), so a request outlasts one election`]);
});

test('ids, prefixes and servers must be safe in NATS subjects', (t) => {
  const problems = problemsOf(t, () => loadReplicaConfig({ overrides: { id: 'r1.*', peers: ['r1.*'], dataDir: '/d', prefix: 'a.>', nats: { servers: [] } } }));
  t.true(problems.some((p) => p.startsWith('id: must be 1 to 64 characters')));
  t.true(problems.some((p) => p.startsWith('peers[0]: must be 1 to 64 characters')));
  t.true(problems.some((p) => p.startsWith('prefix: must be dot-separated words')));
  t.true(problems.includes('nats.servers: must name at least one NATS server'));
  t.deepEqual(problemsOf(t, () => loadReplicaConfig({ overrides: { peers: ['r1'] } })).sort(), ['dataDir: is required', 'id: is required']);
});

test('unreadable and non-JSON files give a clear ConfigError', (t) => {
  const missing = problemsOf(t, () => loadReplicaConfig({ file: join(tmpdir(), 'qc-no-such-config.json') }));
  t.regex(missing[0] ?? '', /^cannot read the file: ENOENT/);
  const bad = tempFile(t, '{ "id": ');
  t.regex(problemsOf(t, () => loadReplicaConfig({ file: bad }))[0] ?? '', /^not valid JSON/);
  const list = tempFile(t, '[1,2]');
  t.deepEqual(problemsOf(t, () => loadReplicaConfig({ file: list })), ['must hold a JSON object of settings']);
});

test('parseReplicaConfig validates an in-memory value', (t) => {
  t.is(parseReplicaConfig(minimal).id, 'r1');
  const err = t.throws(() => parseReplicaConfig({ ...minimal, snapshotEvery: 0 }, 'launcher'), { instanceOf: ConfigError });
  t.regex(err.message, /^invalid configuration \(launcher\):\n {2}- snapshotEvery: must be at least 1$/);
});

test('cluster config: defaults and checks', (t) => {
  t.deepEqual(loadClusterConfig(), {
    replicas: 5, dataRoot: './data', nats: { host: '127.0.0.1', port: 4222 }, prefix: 'quorumchat',
    timing: { heartbeatMs: defaults.DEFAULT_HEARTBEAT_MS, electionMinMs: defaults.DEFAULT_ELECTION_MIN_MS, electionMaxMs: defaults.DEFAULT_ELECTION_MAX_MS }, logLevel: 'info', heal: true,
  });
  t.is(loadClusterConfig({ overrides: { replicas: 3, nats: { port: 14222 } } }).nats.port, 14222);
  const problems = problemsOf(t, () => loadClusterConfig({ overrides: { replicas: 0, nats: { port: 70000 }, timing: { heartbeatMs: 1000 } } }));
  t.deepEqual(problems.sort(), [
    'nats.port: must be at most 65535',
    'replicas: must be at least 1',
    'timing.electionMinMs: must be at least 3 heartbeats (3000 ms with heartbeatMs 1000), or one late heartbeat starts an election',
  ]);
});

test('limits.maxRequestBytes is the one request-size limit: defaulted from the protocol, raisable up to NATS max_payload', (t) => {
  t.is(loadReplicaConfig({ overrides: minimal }).limits.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
  const raised = defaults.MAX_REQUEST_BYTES_CEILING;
  t.true(raised > DEFAULT_MAX_REQUEST_BYTES, 'the setting can raise the limit, not only lower it');
  t.is(loadReplicaConfig({ overrides: { ...minimal, limits: { maxRequestBytes: raised } } }).limits.maxRequestBytes, raised);
  const problems = problemsOf(t, () => loadReplicaConfig({ overrides: { ...minimal, limits: { maxRequestBytes: raised + 1 } } }));
  t.deepEqual(problems, [`limits.maxRequestBytes: must be at most ${raised} bytes (NATS's default max_payload): a larger body cannot arrive`]);
});

test('the configuration refuses every id the protocol\'s replica-id rule refuses', (t) => {
  t.true(REPLICA_ID_PATTERN.test('r_1-A'));
  for (const bad of ['r.1', 'r*', '', 'x'.repeat(65)]) {
    t.false(REPLICA_ID_PATTERN.test(bad), bad);
    t.true(problemsOf(t, () => loadReplicaConfig({ overrides: { ...minimal, id: bad, peers: [bad] } })).some((p) => p.startsWith('id: ')));
  }
});
