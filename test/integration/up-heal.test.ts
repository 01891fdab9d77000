/**
 * `quorumchat up` heals by itself (issue 11): with sends flowing, SIGKILL two
 * replicas and delete their data directories; without anyone acting, the
 * leader's monitor declares them dead and asks for replacements, `up` starts
 * r6 and r7 with --join and fresh directories, the monitor promotes them and
 * removes the dead. No acknowledged send is lost. Short grace and stability
 * periods come from up's --config file.
 */
import test from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChatClient } from '../../actors/client/index.ts';
import { credentialsFileOf } from '../../cli/nats-access.ts';
import { connectNats } from '../../cli/nats-access.ts';
import { freePort } from './support/nats-server.ts';
import { spawnCli, stopClusterCommandInTeardown, tempDir } from './support/cli.ts';

const FAST_TIMING = { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 };
const FAST_MONITOR = { intervalMs: 200, deadAfterMs: 3_000, stableAfterMs: 1_500, announceEveryMs: 500 };
const HEAL_TIMEOUT_MS = 60_000;

interface Status {
  readonly id: string;
  readonly role: string;
  readonly leader: string | null;
  readonly voters: string[];
  readonly learners: string[];
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly digest: string;
  readonly pid: number;
}

test('up heals: two replicas killed with their data, five healthy voters again with two new ids, no acknowledged send lost', async (t) => {
  t.timeout(150_000);
  const data = tempDir(t, 'up-heal');
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const config = join(data, 'cluster.json.in');
  writeFileSync(config, JSON.stringify({ timing: FAST_TIMING, monitor: FAST_MONITOR }));
  const up = spawnCli(['up', '--headless', '--data', data, '--port', String(port), '--config', config, '--leader-timeout', '100s']);
  stopClusterCommandInTeardown(t, up);
  await up.waitFor(/Press Ctrl-C to stop\./, 110_000);

  const nc = await connectNats(url, { auth: { file: credentialsFileOf(data, 'operator') } }, { name: 'heal-test', reconnect: true });
  const status = async (id: string): Promise<Status | null> => {
    try {
      return JSON.parse((await nc.request(`quorumchat.replica.${id}.status`, '{}', { timeout: 1_000 })).string()) as Status;
    } catch {
      return null;
    }
  };
  const client = await ChatClient.connect({ servers: url, security: { auth: { file: credentialsFileOf(data, 'client') } }, prefix: 'quorumchat', timeoutMs: 15_000 });
  t.teardown(async () => {
    await client.close();
    await nc.close();
  });
  await client.register({ username: 'alice', password: 'alice-password' });
  await client.register({ username: 'bob', password: 'bob-password' });
  const alice = await client.login({ username: 'alice', password: 'alice-password' });

  // Sends flow throughout; every acknowledged one must survive.
  const acked: number[] = [];
  const failures: string[] = [];
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i += 1) {
      try {
        acked.push((await client.send({ token: alice.token, to: 'bob', text: `heal ${i}` })).message.id);
      } catch (error) {
        failures.push(String(error));
      }
    }
  })();
  while (acked.length < 20) await new Promise((resolve) => setTimeout(resolve, 50));

  const initial = ['r1', 'r2', 'r3', 'r4', 'r5'];
  const leader = (await Promise.all(initial.map(status))).find((s) => s?.role === 'leader')?.id ?? 'r1';
  const victims = initial.filter((id) => id !== leader).slice(0, 2);
  const killedAt = Date.now();
  for (const id of victims) {
    const pid = (await status(id))?.pid;
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
  }
  // Their disks are gone too: only a replacement with a new id can restore the count.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const id of victims) rmSync(join(data, id), { recursive: true, force: true });
  const ackedAtKill = acked.length;

  let healed: Status | null = null;
  while (healed === null && Date.now() - killedAt < HEAL_TIMEOUT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const all = await Promise.all(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'].map(status));
    const lead = all.find((s) => s?.role === 'leader') ?? null;
    if (lead === null || lead.voters.length !== 5 || lead.learners.length !== 0 || victims.some((v) => lead.voters.includes(v))) continue;
    const voters = lead.voters.map((id) => all.find((s) => s?.id === id) ?? null);
    if (voters.every((s) => s !== null && s.role !== 'learner' && lead.commitIndex - s.appliedIndex < 50)) healed = lead;
  }
  const healMs = Date.now() - killedAt;
  t.truthy(healed, `not healed within ${HEAL_TIMEOUT_MS} ms:\n${up.stdout().slice(-3_000)}`);
  t.deepEqual([...(healed?.voters ?? [])].sort(), [...initial.filter((id) => !victims.includes(id)), 'r6', 'r7'].sort());
  t.regex(up.stdout(), /heal: started r6/);
  t.regex(up.stdout(), /heal: started r7/);
  while (acked.length < ackedAtKill + 20) await new Promise((resolve) => setTimeout(resolve, 50));
  sending = false;
  await sender;
  t.deepEqual(failures, [], 'every send was acknowledged, through the kills and the healing');

  const bob = await client.login({ username: 'bob', password: 'bob-password' });
  const seen = new Set<number>();
  for (let afterId = 0; ; ) {
    const page = await client.history({ token: bob.token, with: 'alice', afterId, limit: 1_000 });
    for (const m of page.messages) seen.add(m.id);
    const last = page.messages.at(-1);
    if (!page.hasMore || last === undefined) break;
    afterId = last.id;
  }
  t.deepEqual(acked.filter((id) => !seen.has(id)), [], 'no acknowledged send is lost');
  t.log(`killed ${victims.join(', ')} (SIGKILL, data deleted) → five healthy voters (${healed?.voters.join(', ')}) in ${healMs} ms (dead after ${FAST_MONITOR.deadAfterMs} ms, stable after ${FAST_MONITOR.stableAfterMs} ms); ${acked.length} sends acknowledged, none lost`);
});
