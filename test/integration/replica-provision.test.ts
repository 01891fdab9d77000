/**
 * `--provision-cmd` with real processes (issue 11, "who starts a
 * replacement"): every replica's configuration names a provision command, a
 * small shell script as an operator would write, which starts `quorumchat
 * replica --join` in the background with the placeholders filled in. A
 * voter is SIGKILLed; nobody else acts: the leader's monitor declares it
 * dead, runs the script, the new replica joins, is promoted, the dead voter
 * is removed, and the cluster is back to five healthy voters with the same
 * state. Short grace and stability periods come from the --config file.
 */
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { account, ReplicaCluster, type Status } from './support/replica-cluster.ts';
import { SendStream } from './support/sends.ts';
import { QUORUMCHAT_BIN } from './support/cli.ts';

type Decision = { decision: { kind: string; id?: string; replaces?: string }; outcome: string | null; at: number };
type MonitorStatus = Status & { monitor?: { decisions: Decision[] } };

/**
 * The operator's script: `provision.sh ID REPLACES NATS PREFIX` starts the
 * replacement in the background (the monitor wants the command to return
 * quickly) and records what it did, and the pid so the test can stop it.
 */
function provisionScript(dir: string, configFile: string): string {
  const script = join(dir, 'provision.sh');
  writeFileSync(
    script,
    `#!/bin/sh
# provision.sh ID REPLACES NATS PREFIX
id="$1"; replaces="$2"; nats="$3"; prefix="$4"
echo "$id replaces $replaces on $nats prefix $prefix" >> '${dir}/provisioned'
nohup '${process.execPath}' '${QUORUMCHAT_BIN}' replica --id "$id" --join --nats "$nats" --prefix "$prefix" \\
  --data '${dir}'/"$id" --config '${configFile}' > '${dir}'/"$id".log 2>&1 &
echo $! > '${dir}'/"$id".pid
`,
  );
  chmodSync(script, 0o755);
  return script;
}

test('--provision-cmd: a voter is killed; the leader runs the script, the new replica joins and is promoted, the dead one removed: five healthy voters again', async (t) => {
  t.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'quorumchat-provision-'));
  const started: string[] = [];
  t.teardown(() => {
    for (const id of started) {
      try {
        process.kill(Number(readFileSync(join(dir, `${id}.pid`), 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (process.env.KEEP_IT_LOGS === undefined) rmSync(dir, { recursive: true, force: true });
    else t.log(`provisioned replicas' logs kept in ${dir}`);
  });
  const script = join(dir, 'provision.sh');
  // The template is in the --config file every replica reads: any of them may lead.
  const cluster = await ReplicaCluster.start(t, {
    size: 5,
    replicaConfig: {
      monitor: { intervalMs: 200, deadAfterMs: 3_000, stableAfterMs: 1_500, announceEveryMs: 500 },
      provisionCmd: `${script} {id} {replaces} {nats} {prefix}`,
    },
  });
  // Written once the cluster's config file exists; the monitor runs it only after the grace period.
  provisionScript(dir, cluster.configFile);
  const leader = await cluster.waitForLeader();
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'provision');
  for (let i = 0; i < 20; i++) t.true((await stream.sendOne()).ok);

  const dead = cluster.ids.find((id) => id !== leader) ?? '';
  const killedAt = Date.now();
  await cluster.kill(dead);
  stream.start();
  const survivors = cluster.ids.filter((id) => id !== dead);
  const healed = await cluster.waitFor('five healthy voters without the dead one', async () => {
    if (existsSync(join(dir, 'provisioned'))) for (const line of readFileSync(join(dir, 'provisioned'), 'utf8').split('\n')) {
      const id = line.split(' ')[0];
      if (id && !started.includes(id)) started.push(id);
    }
    const statuses = (await cluster.statuses([...survivors, ...started])) as (MonitorStatus | null)[];
    const lead = statuses.find((s) => s?.role === 'leader');
    if (!lead || lead.voters.length !== 5 || lead.voters.includes(dead) || lead.learners.length > 0) return null;
    const healthy = lead.voters.every((id) => statuses.some((s) => s?.id === id && s.health === 'ok' && s.leader === lead.id));
    return healthy ? lead : null;
  });
  const healedMs = Date.now() - killedAt;
  await stream.ackedAtLeast(stream.acked.length + 5);
  await stream.stop();
  t.deepEqual(stream.failures, []);

  // The script ran once, for the dead voter, with the placeholders filled in.
  const provisioned = readFileSync(join(dir, 'provisioned'), 'utf8').trim().split('\n');
  t.deepEqual(provisioned, [`r6 replaces ${dead} on ${cluster.nats.url} prefix ${cluster.prefix}`]);
  t.deepEqual([...healed.voters].sort(), [...survivors, 'r6'].sort());
  const statuses = await cluster.waitForConvergence(healed.voters, stream.acked.at(-1)?.id ?? 1);
  t.is(new Set(statuses.map((s) => s.digest)).size, 1, 'the newcomer holds the same state');

  // What the monitors decided, in time order across leaders: ask, promote, remove.
  const acts = ((await cluster.statuses(healed.voters)) as (MonitorStatus | null)[])
    .flatMap((s) => s?.monitor?.decisions ?? [])
    .filter((d) => d.decision.kind !== 'wait')
    .sort((a, b) => a.at - b.at)
    .map((d) => `${d.decision.kind} ${d.decision.id ?? d.decision.replaces ?? ''} → ${d.outcome}`);
  t.log(`killed ${dead} → five healthy voters in ${healedMs} ms: ${acts.join(', ')}`);
  t.deepEqual(acts, [`requestReplacement ${dead} → asked for r6`, 'promoteNewcomer r6 → done', `removeDead ${dead} → done`]);
  t.regex(cluster.log(leader) + survivors.map((id) => cluster.log(id)).join(''), /provision command started/);
});
