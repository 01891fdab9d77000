/**
 * Replicas that come and go while the cluster runs (issue 11): `replica
 * --join` on a running cluster with a compacted log, the leader's monitor
 * promoting it, removal of the leader, a removed replica exiting and
 * refusing to restart, standbys, a short pause that must not be replaced.
 * Short grace and stability periods come from the replica --config file.
 */
import test from 'ava';
import { account, ReplicaCluster, type Status } from './support/replica-cluster.ts';
import { SendStream } from './support/sends.ts';
import { runCli } from './support/cli.ts';

/** Short monitor periods: a voter silent 3 s is dead, a learner steady 1.5 s may vote. */
const FAST_MONITOR = { monitor: { intervalMs: 200, deadAfterMs: 3_000, stableAfterMs: 1_500, announceEveryMs: 500 } } as const;

type Decision = { decision: { kind: string; id?: string; replaces?: string }; outcome: string | null; at: number };
type MonitorStatus = Status & { monitor?: { decisions: Decision[] }; longestAppendGapMs?: number; configIndex?: number };

async function leaderStatus(cluster: ReplicaCluster, among: readonly string[]): Promise<MonitorStatus> {
  const leader = await cluster.waitForLeader(among);
  const status = (await cluster.status(leader)) as MonitorStatus | null;
  if (status === null) throw new Error(`leader ${leader} did not answer`);
  return status;
}

async function longestGap(cluster: ReplicaCluster, ids: readonly string[]): Promise<number> {
  const statuses = (await cluster.statuses(ids)) as (MonitorStatus | null)[];
  return Math.max(0, ...statuses.map((s) => (s?.role === 'follower' ? (s.longestAppendGapMs ?? 0) : 0)));
}

test('replica --join on a 5-voter cluster with a compacted log: snapshot, promotion, same digest; heartbeats never stall', async (t) => {
  t.timeout(90_000);
  // A snapshot every 20 entries and 60 sends compact the log twice over: the count does not matter, only that r6 needs the snapshot.
  const cluster = await ReplicaCluster.start(t, { size: 5, snapshotEvery: 20, replicaConfig: FAST_MONITOR });
  const voters = [...cluster.ids];
  await cluster.waitForLeader(voters);
  const ada = await account(cluster, 'ada');
  await account(cluster, 'bob');
  const stream = new SendStream(cluster, ada, 'bob', 'join');
  for (let i = 0; i < 60; i++) t.true((await stream.sendOne()).ok);
  // The log is compacted: a newcomer needs the snapshot.
  const compacted = await cluster.waitFor('a compacted log', async () => {
    const lead = await leaderStatus(cluster, voters);
    return lead.snapshotIndex > 40 ? lead : null;
  });
  const gapBefore = await longestGap(cluster, voters);

  const started = Date.now();
  void cluster.startReplica('r6', { join: true });
  stream.start();
  const promoted = await cluster.waitFor('r6 to become a voter', async () => {
    const lead = await leaderStatus(cluster, voters);
    return lead.voters.includes('r6') ? Date.now() - started : null;
  });
  const acked = stream.acked.length;
  await stream.ackedAtLeast(acked + 10);
  await stream.stop();
  t.deepEqual(stream.failures, []);
  const all = [...voters, 'r6'];
  const statuses = await cluster.waitForConvergence(all, stream.acked.at(-1)?.id ?? 1);
  const r6 = statuses.find((s) => s.id === 'r6');
  t.truthy(r6);
  t.true((r6?.snapshotIndex ?? 0) >= compacted.snapshotIndex, 'r6 started from the snapshot');
  t.true(new Set(statuses.map((s) => s.digest)).size === 1);
  const lead = await leaderStatus(cluster, all);
  const promotion = lead.monitor?.decisions.find((d) => d.decision.kind === 'promoteNewcomer' && d.decision.id === 'r6');
  t.truthy(promotion, JSON.stringify(lead.monitor));
  const gapAfter = await longestGap(cluster, voters);
  t.log(`join → voter in ${promoted} ms (stability period ${FAST_MONITOR.monitor.stableAfterMs} ms); longest heartbeat gap on followers: ${gapAfter} ms (before the join: ${gapBefore} ms)`);
  t.true(gapAfter < 800, `heartbeats stalled ${gapAfter} ms, longer than an election timeout`);
});

test('members remove <leader> moves leadership first, then removes; a removed replica exits 0, refuses to restart, and comes back with --join', async (t) => {
  t.timeout(90_000);
  const cluster = await ReplicaCluster.start(t, { size: 5, replicaConfig: FAST_MONITOR });
  const first = await cluster.waitForLeader();
  await account(cluster, 'ada');
  await cluster.waitForConvergence();
  const removedExit = cluster.expectExit(first);
  const removal = await runCli(['members', 'remove', first, '--nats', cluster.nats.url, '--prefix', cluster.prefix]);
  t.is(removal.code, 0, removal.stdout + removal.stderr);
  const successor = new RegExp(`^${first} led: leadership moved to (r\\d) first \\(term \\d+\\), then:$`, 'm').exec(removal.stdout)?.[1];
  t.truthy(successor, removal.stdout);
  t.regex(removal.stdout, new RegExp(`^${first} removed \\(voters (?!.*${first}).*\\)`, 'm'));
  const lead = await leaderStatus(cluster, cluster.ids.filter((id) => id !== first));
  t.false(lead.voters.includes(first));
  t.is(await removedExit, 0);
  t.regex(cluster.log(first), /removed from the cluster/);

  // Restarted with the same data: it refuses, exit code 3.
  const code = await cluster.startReplica(first, { expectExit: true });
  t.is(code, 3);
  t.regex(cluster.log(first), /was removed from the cluster[\s\S]*--join/);

  // With --join it comes back as a new learner, and the monitor promotes it.
  void cluster.startReplica(first, { join: true });
  await cluster.waitFor(`${first} to be a voter again`, async () => {
    const lead = await leaderStatus(cluster, cluster.ids.filter((id) => id !== first));
    return lead.voters.includes(first) ? lead : null;
  });
});

test('standbys and pauses: a voter paused for less than the grace period is left alone; two dead voters are replaced by both standbys, promotions first', async (t) => {
  t.timeout(90_000);
  const cluster = await ReplicaCluster.start(t, { size: 5, replicaConfig: FAST_MONITOR });
  const leader = await cluster.waitForLeader();
  await account(cluster, 'ada');
  void cluster.startReplica('s1', { join: true, args: ['--standby'] });
  void cluster.startReplica('s2', { join: true, args: ['--standby'] });
  await cluster.waitFor('two caught-up standbys', async () => {
    const lead = await leaderStatus(cluster, cluster.initialIds);
    const [s1, s2] = await cluster.statuses(['s1', 's2']);
    return lead.learners.length === 2 && s1?.appliedIndex === lead.commitIndex && s2?.appliedIndex === lead.commitIndex ? lead : null;
  });

  // A pause shorter than the grace period (3 s): nothing is replaced, the standbys stay standbys.
  const [paused, second] = cluster.initialIds.filter((id) => id !== leader);
  cluster.pause(paused ?? '');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  cluster.resume(paused ?? '');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const calm = await leaderStatus(cluster, cluster.initialIds);
  t.deepEqual([...calm.voters].sort(), [...cluster.initialIds].sort(), 'the paused voter is still a voter');
  t.deepEqual([...calm.learners].sort(), ['s1', 's2']);
  t.false((calm.monitor?.decisions ?? []).some((d) => d.decision.kind !== 'wait'), JSON.stringify(calm.monitor?.decisions));

  // Two voters die: both standbys are promoted, then the dead are removed.
  const dead = [paused ?? '', second ?? ''];
  for (const id of dead) await cluster.kill(id);
  const living = [...cluster.initialIds.filter((id) => !dead.includes(id)), 's1', 's2'];
  const healed = await cluster.waitFor('standbys promoted and the dead removed', async () => {
    const lead = await leaderStatus(cluster, living);
    return lead.voters.length === 5 && living.every((id) => lead.voters.includes(id)) ? lead : null;
  });
  // Each leader keeps its own decisions: gather them from every living replica, in time order.
  const everyones = ((await cluster.statuses(living)) as (MonitorStatus | null)[]).flatMap((s) => s?.monitor?.decisions ?? []);
  const acts = everyones
    .filter((d) => d.decision.kind !== 'wait' && d.outcome === 'done')
    .sort((a, b) => a.at - b.at)
    .map((d) => `${d.decision.kind} ${d.decision.id ?? d.decision.replaces ?? ''}`);
  t.log(`monitor on ${healed.id}: ${acts.join(' → ')}`);
  // Safe order: each promotion comes before the removal it makes up for (never fewer live voters than a quorum needs).
  const firstRemoval = acts.findIndex((a) => a.startsWith('removeDead'));
  const promotions = acts.filter((a) => a.startsWith('promoteStandby')).length;
  t.is(promotions, 2, acts.join(', '));
  t.true(firstRemoval === -1 || acts.slice(0, firstRemoval).some((a) => a.startsWith('promoteStandby')), acts.join(', '));
  t.false(acts.some((a) => a.startsWith('requestReplacement')), 'standbys stood in: no replacement was asked for');
});
