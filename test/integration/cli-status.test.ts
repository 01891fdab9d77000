/**
 * `quorumchat status` when replicas do not answer: every row says so, the
 * exit code says there is no leader; and an unreachable NATS is explained.
 */
import test from 'ava';
import { startNatsServer, freePort } from './support/nats-server.ts';
import { runCli } from './support/cli.ts';

test('no replica answers: a row per replica marked not answered, exit code 4', async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.stop());
  const table = await runCli(['status', '--nats', nats.url, '--replicas', 'r1,r2,r3', '--timeout', '300ms']);
  t.is(table.code, 4, table.stderr);
  t.regex(table.stdout, /no leader/);
  t.regex(table.stdout, /replica\s+answered\s+role\s+term\s+leader\s+commit\s+applied\s+lag\s+digest\s+health\s+note/);
  for (const id of ['r1', 'r2', 'r3']) t.regex(table.stdout, new RegExp(`^${id}\\s+no\\s`, 'm'));

  const json = await runCli(['status', '--nats', nats.url, '--replicas', 'r1,r2', '--timeout', '300ms', '--json']);
  t.is(json.code, 4);
  const parsed = JSON.parse(json.stdout) as { leader: unknown; replicas: { id: string; answered: boolean }[] };
  t.is(parsed.leader, null);
  t.deepEqual(parsed.replicas.map((r) => [r.id, r.answered]), [['r1', false], ['r2', false]]);
});

test('NATS unreachable: a clear message and exit code 3', async (t) => {
  const port = await freePort();
  const result = await runCli(['status', '--nats', `nats://127.0.0.1:${port}`]);
  t.is(result.code, 3);
  t.regex(result.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+/);
  t.regex(result.stderr, /quorumchat up/);
});
