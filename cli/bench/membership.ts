/**
 * The self-healing figures of issue 11, measured on a cluster started the
 * way `quorumchat up` starts one (cli/supervisor/local-cluster.ts, healing
 * on): for each message count,
 *
 *   heal   a follower voter SIGKILLed → five healthy voters again (the
 *          leader's monitor declares it dead after the grace period, up's
 *          healer starts r6 with --join, the monitor promotes it once
 *          stable, then removes the dead one);
 *   join   a new replica started with --join → voter, and the longest gap
 *          between two appends from the leader on any follower meanwhile
 *          (`longestAppendGapMs`: did heartbeats stall while the newcomer
 *          was sent the snapshot?).
 *
 * Both are dominated by the grace and stability periods, so they are
 * reported with them; the bench passes them to the replicas as their
 * monitor configuration.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatClient, ConflictError, UnavailableError } from '../../actors/client/index.ts';
import { statusSubject } from '../../actors/protocol/index.ts';
import { DEFAULT_CAUGHT_UP_LAG } from '../../actors/monitor/index.ts';
import { askCluster } from '../supervisor/cluster-status.ts';
import { LocalCluster } from '../supervisor/local-cluster.ts';
import { findFreePort } from '../supervisor/nats-server.ts';
import { replicaIdsFor } from '../options.ts';

export interface MembershipBenchOptions {
  /** Message counts to measure at, each on a fresh cluster (0: only the accounts). */
  readonly messageCounts: readonly number[];
  /** The monitor's grace period before a silent voter is dead (`monitor.deadAfterMs`). */
  readonly deadAfterMs: number;
  /** How long a caught-up learner must stay so before a vote (`monitor.stableAfterMs`). */
  readonly stableAfterMs: number;
  readonly prefix: string;
  /** Keep the data root (logs) instead of removing it. */
  readonly keepData: boolean;
  readonly progress: (line: string) => void;
}

export interface MembershipSample {
  readonly messages: number;
  /** The follower SIGKILLed and the id up's healer started in its place. */
  readonly killed: string;
  readonly replacement: string | null;
  /** SIGKILL → five voters, none of them the dead one, all reachable and caught up. */
  readonly healMs: number;
  /** `replica --join` started → the leader's configuration has it as a voter. */
  readonly joinToVoterMs: number;
  /** The newcomer's snapshot index once a voter: > 0 means it was sent a snapshot. */
  readonly joinerSnapshotIndex: number;
  /** The longest gap between two appends from a leader on any follower, before and after the join. */
  readonly longestGapBeforeMs: number;
  readonly longestGapAfterMs: number;
}

/** Voters `up` keeps by default: the figure is "five healthy voters again". */
const VOTERS = 5;
/** Raft timing as `up` runs it on loopback (config/defaults.ts): the gap is judged against electionMinMs. */
const SNAPSHOT_EVERY = 10_000;
/** Senders in flight while loading the messages: enough to batch appends, few enough for a 2-core machine. */
const LOAD_CONCURRENCY = 64;
/** Every wait gives up after this long: far beyond grace + stability + a snapshot of a large chat. */
const WAIT_LIMIT_MS = 10 * 60_000;
const POLL_MS = 100;
const REQUEST_TIMEOUT_MS = 10_000;

export async function runMembershipBench(options: MembershipBenchOptions): Promise<MembershipSample[]> {
  const samples: MembershipSample[] = [];
  for (const messages of options.messageCounts) samples.push(await measureAt(messages, options));
  return samples;
}

async function measureAt(messages: number, options: MembershipBenchOptions): Promise<MembershipSample> {
  const { progress } = options;
  const root = mkdtempSync(join(tmpdir(), 'quorumchat-bench-members-'));
  progress(`bench-members: ${messages} messages: starting ${VOTERS} replicas in ${root} (grace ${options.deadAfterMs} ms, stability ${options.stableAfterMs} ms)`);
  const { cluster } = await LocalCluster.start({
    dataRoot: root,
    replicaIds: replicaIdsFor(VOTERS),
    port: await findFreePort(),
    prefix: options.prefix,
    heal: true,
    replicaSettings: { snapshotEvery: SNAPSHOT_EVERY, monitor: { targetVoters: VOTERS, deadAfterMs: options.deadAfterMs, stableAfterMs: options.stableAfterMs } },
    onProgress: (line) => progress(`bench-members: ${line}`),
  });
  try {
    await load(cluster, messages, options);
    const leader = await leaderOf(cluster);
    const killed = cluster.supervisor.initialIds.find((id) => id !== leader) ?? '';
    const before = new Set(cluster.supervisor.replicaIds);

    // Heal: SIGKILL a follower; nobody acts but the leader's monitor and up's healer.
    const killedAt = Date.now();
    await cluster.supervisor.kill(killed);
    progress(`bench-members: killed ${killed}; waiting for ${VOTERS} healthy voters without it`);
    await until(`${VOTERS} healthy voters without ${killed}`, async () => {
      const answer = await askCluster(cluster.nc, cluster.prefix, 2_000);
      if (answer === null || answer.leader === null) return null;
      const voters = answer.members.filter((m) => m.voter);
      const healthy = voters.filter((m) => m.reachable && answer.commitIndex - m.matchIndex <= DEFAULT_CAUGHT_UP_LAG);
      return voters.length === VOTERS && healthy.length === VOTERS && !voters.some((m) => m.id === killed) ? true : null;
    });
    const healMs = Date.now() - killedAt;
    const replacement = cluster.supervisor.replicaIds.find((id) => !before.has(id)) ?? null;
    progress(`bench-members: five healthy voters ${healMs} ms after the kill (${replacement ?? 'no new id'} replaced ${killed})`);

    // Join: a new replica with --join, promoted by the monitor once caught up and stable.
    const gapBefore = await longestGap(cluster);
    const joiner = `r${Math.max(...cluster.supervisor.replicaIds.map((id) => Number(/(\d+)$/.exec(id)?.[1] ?? 0))) + 1}`;
    cluster.supervisor.addJoiner(joiner);
    const joinedAt = Date.now();
    cluster.supervisor.start(joiner);
    await until(`${joiner} to become a voter`, async () => {
      const answer = await askCluster(cluster.nc, cluster.prefix, 2_000);
      return answer?.members.some((m) => m.id === joiner && m.voter) === true ? true : null;
    });
    const joinToVoterMs = Date.now() - joinedAt;
    const joinerStatus = await statusOf(cluster, joiner);
    const gapAfter = await longestGap(cluster);
    progress(`bench-members: ${joiner} joined → voter in ${joinToVoterMs} ms; longest append gap on followers ${gapAfter} ms (before: ${gapBefore} ms)`);
    return {
      messages,
      killed,
      replacement,
      healMs,
      joinToVoterMs,
      joinerSnapshotIndex: typeof joinerStatus?.['snapshotIndex'] === 'number' ? joinerStatus['snapshotIndex'] : 0,
      longestGapBeforeMs: gapBefore,
      longestGapAfterMs: gapAfter,
    };
  } finally {
    await cluster.stop().catch(() => undefined);
    if (options.keepData) progress(`bench-members: data and logs kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

/** Two accounts and `count` messages between them, LOAD_CONCURRENCY in flight. */
async function load(cluster: LocalCluster, count: number, options: MembershipBenchOptions): Promise<void> {
  const client = await ChatClient.connect({ servers: cluster.natsUrl, security: cluster.security('client'), prefix: cluster.prefix, timeoutMs: REQUEST_TIMEOUT_MS });
  try {
    const run = randomBytes(3).toString('hex');
    const password = `bench-${randomBytes(8).toString('hex')}`;
    const [from, to] = [`ada-${run}`, `bob-${run}`];
    for (const username of [from, to]) await retrying(() => client.register({ username, password }), true);
    const login = await retrying(() => client.login({ username: from, password }), false);
    if (login === undefined) throw new Error('bench-members: login answered nothing');
    const { token } = login;
    const started = Date.now();
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < count) {
        const seq = next++;
        await client.send({ token, to, text: `message ${seq}`, requestId: `${run}-${seq}` });
        if (seq > 0 && seq % 10_000 === 0) options.progress(`bench-members: ${seq} messages sent`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, count) }, sender));
    if (count > 0) options.progress(`bench-members: ${count} messages sent in ${Date.now() - started} ms`);
  } finally {
    await client.close();
  }
}

/** Retries on `unavailable` (an election); a `conflict` after a retry of a registration means it committed. */
async function retrying<T>(op: () => Promise<T>, conflictMeansDone: boolean): Promise<T | undefined> {
  let attempted = false;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (conflictMeansDone && attempted && err instanceof ConflictError) return undefined;
      attempted = true;
      if (!(err instanceof UnavailableError) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function leaderOf(cluster: LocalCluster): Promise<string> {
  return await until('a leader', async () => (await askCluster(cluster.nc, cluster.prefix, 2_000))?.leader ?? null);
}

async function statusOf(cluster: LocalCluster, id: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse((await cluster.nc.request(statusSubject(cluster.prefix, id), '{}', { timeout: 2_000 })).string()) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The longest append gap any running follower reports (its whole life so far). */
async function longestGap(cluster: LocalCluster): Promise<number> {
  const running = cluster.supervisor.list().filter((r) => r.state === 'running').map((r) => r.id);
  const statuses = await Promise.all(running.map((id) => statusOf(cluster, id)));
  return Math.max(0, ...statuses.map((s) => (s?.['role'] === 'follower' && typeof s['longestAppendGapMs'] === 'number' ? s['longestAppendGapMs'] : 0)));
}

async function until<T>(what: string, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`bench-members: gave up after ${WAIT_LIMIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
