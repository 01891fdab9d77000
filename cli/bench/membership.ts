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
 *
 * The messages are loaded by real sends through the cluster, or, for large
 * counts, seeded: every voter's data directory built offline through the
 * production store and chat state machine before the cluster starts, with a
 * compacted log (seed.ts). What is measured afterwards (catch-up, promotion,
 * healing) starts from the stored state either way.
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
import { seedCluster } from './seed-cluster.ts';

export interface MembershipBenchOptions {
  /** Message counts to measure at, each on a fresh cluster (0: only the accounts). */
  readonly messageCounts: readonly number[];
  /** The monitor's grace period before a silent voter is dead (`monitor.deadAfterMs`). */
  readonly deadAfterMs: number;
  /** How long a caught-up learner must stay so before a vote (`monitor.stableAfterMs`). */
  readonly stableAfterMs: number;
  /** How the messages get there: real sends, seeded directories, or seeded above SEED_ABOVE_MESSAGES. */
  readonly loading: MessageLoading;
  readonly prefix: string;
  /** Keep the data root (logs) instead of removing it. */
  readonly keepData: boolean;
  readonly progress: (line: string) => void;
}

/** `auto`: seeded above SEED_ABOVE_MESSAGES, sent below. */
export type MessageLoading = 'auto' | 'sends' | 'seed';

/** How one count's messages were loaded, and what that took. */
export type LoadReport =
  | { readonly how: 'sends'; readonly ms: number }
  /** Seeded: the build of the first voter's directory, the copies for the others, the snapshot they all start from. */
  | { readonly how: 'seeded'; readonly ms: number; readonly copyMs: number; readonly snapshotIndex: number; readonly snapshotBytes: number };

export interface MembershipSample {
  readonly messages: number;
  readonly load: LoadReport;
  /** The follower SIGKILLed and the id up's healer started in its place. */
  readonly killed: string;
  readonly replacement: string | null;
  /** SIGKILL → five voters, none of them the dead one, all reachable and caught up. */
  readonly healMs: number;
  /** `replica --join` started → the leader's configuration has it as a voter. */
  readonly joinToVoterMs: number;
  /** The newcomer's snapshot index once a voter: > 0 means it was sent a snapshot. */
  readonly joinerSnapshotIndex: number;
  /** The longest gap between two appends from a leader on any follower: once loaded (before the kill), before and after the join. */
  readonly longestGapLoadedMs: number;
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
/**
 * `auto` seeds counts above this: real sends load about 500 to 800 messages
 * a second on the shared 2-core machine (20,000 in about 30 s), so beyond it
 * loading would take most of the bench's time.
 */
export const SEED_ABOVE_MESSAGES = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;

export async function runMembershipBench(options: MembershipBenchOptions): Promise<MembershipSample[]> {
  const samples: MembershipSample[] = [];
  for (const messages of options.messageCounts) samples.push(await measureAt(messages, options));
  return samples;
}

async function measureAt(messages: number, options: MembershipBenchOptions): Promise<MembershipSample> {
  const root = mkdtempSync(join(tmpdir(), 'quorumchat-bench-members-'));
  try {
    return await measureIn(root, messages, options);
  } finally {
    if (options.keepData) options.progress(`bench-members: data and logs kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

async function measureIn(root: string, messages: number, options: MembershipBenchOptions): Promise<MembershipSample> {
  const { progress } = options;
  const seeding = options.loading === 'seed' || (options.loading === 'auto' && messages > SEED_ABOVE_MESSAGES);
  // Seeded directories must exist before the replicas open them.
  const seeded = seeding ? await seedCluster({ root, voters: replicaIdsFor(VOTERS), messages, progress: (line) => progress(`bench-members: ${line}`) }) : null;
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
    const load: LoadReport =
      seeded === null
        ? { how: 'sends', ms: await loadBySends(cluster, messages, options) }
        : { how: 'seeded', ms: seeded.elapsedMs, copyMs: seeded.copyMs, snapshotIndex: seeded.snapshotIndex, snapshotBytes: seeded.snapshotBytes };
    const gapLoaded = await longestGap(cluster);
    const healed = await healAfterKill(cluster, progress);
    const gapBefore = await longestGap(cluster);
    const joined = await joinNewReplica(cluster);
    const gapAfter = await longestGap(cluster);
    progress(`bench-members: ${joined.joiner} joined → voter in ${joined.joinToVoterMs} ms; longest append gap on followers ${gapAfter} ms (before: ${gapBefore} ms)`);
    return { messages, load, ...healed, joinToVoterMs: joined.joinToVoterMs, joinerSnapshotIndex: joined.joinerSnapshotIndex, longestGapLoadedMs: gapLoaded, longestGapBeforeMs: gapBefore, longestGapAfterMs: gapAfter };
  } finally {
    await cluster.stop().catch(() => undefined);
  }
}

/** SIGKILL a follower; nobody acts but the leader's monitor and up's healer: how long until five healthy voters again. */
async function healAfterKill(cluster: LocalCluster, progress: (line: string) => void): Promise<Pick<MembershipSample, 'killed' | 'replacement' | 'healMs'>> {
  const leader = await leaderOf(cluster);
  const killed = cluster.supervisor.initialIds.find((id) => id !== leader) ?? '';
  const before = new Set(cluster.supervisor.replicaIds);
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
  return { killed, replacement, healMs };
}

/** A new replica with --join, promoted by the monitor once caught up and stable: how long until it votes. */
async function joinNewReplica(cluster: LocalCluster): Promise<{ joiner: string; joinToVoterMs: number; joinerSnapshotIndex: number }> {
  const joiner = `r${Math.max(...cluster.supervisor.replicaIds.map((id) => Number(/(\d+)$/.exec(id)?.[1] ?? 0))) + 1}`;
  cluster.supervisor.addJoiner(joiner);
  const joinedAt = Date.now();
  cluster.supervisor.start(joiner);
  await until(`${joiner} to become a voter`, async () => {
    const answer = await askCluster(cluster.nc, cluster.prefix, 2_000);
    return answer?.members.some((m) => m.id === joiner && m.voter) === true ? true : null;
  });
  const joinToVoterMs = Date.now() - joinedAt;
  const status = await statusOf(cluster, joiner);
  return { joiner, joinToVoterMs, joinerSnapshotIndex: typeof status?.['snapshotIndex'] === 'number' ? status['snapshotIndex'] : 0 };
}

/** Two accounts and `count` messages between them, LOAD_CONCURRENCY in flight: how long the sends took. */
async function loadBySends(cluster: LocalCluster, count: number, options: MembershipBenchOptions): Promise<number> {
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
    return Date.now() - started;
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
