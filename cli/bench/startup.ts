/**
 * Replica start-up and idle memory, compiled (dist/) against tsx: the figures
 * behind the compiled build (docs/notebook.md, "Compiled build"). In one
 * five-replica cluster started as `up` does:
 *   - restarts, alternating the runtime (so both see the same machine load,
 *     which on a shared machine moves more than the difference): a follower
 *     stopped cleanly, then spawn → its first answer on its status subject
 *     (what failover catch-up and `restart` wait for);
 *   - idle RSS of every replica, IDLE_SETTLE_MS after all five were
 *     (re)started with one runtime, for each runtime.
 * Prints figures; asserts nothing.
 *
 *   node --import tsx cli/bench/startup.ts [--restarts 5]     (per runtime)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isBuildFresh } from '../build/freshness.mjs';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { replicaIdsFor } from '../options.ts';
import { queryReplicaStatus, waitForSettled } from '../supervisor/cluster-status.ts';
import { LocalCluster } from '../supervisor/local-cluster.ts';
import { findFreePort } from '../supervisor/nats-server.ts';
import { median } from './figures.ts';
import { readRss } from './proc.ts';

/** Long enough for start-up garbage to be collected and the heap to settle; a replica is then idle (heartbeats only). */
const IDLE_SETTLE_MS = 15_000;
/** Status polls while a replica starts: fine enough for figures of hundreds of ms. */
const POLL_INTERVAL_MS = 20;
const POLL_TIMEOUT_MS = 200;
/** A replica that has not answered in this long is broken, not slow. */
const START_GIVE_UP_MS = 120_000;
/** Between restarts, so the cluster is quiet again. */
const BETWEEN_RESTARTS_MS = 1_000;
const RUNTIMES = ['tsx', 'compiled'] as const;
type Runtime = (typeof RUNTIMES)[number];

const Args = z.object({ restarts: z.coerce.number().int().min(1).max(50).default(5) });

const flags = process.argv.slice(2);
const at = flags.indexOf('--restarts');
const args = Args.parse({ restarts: at >= 0 ? flags[at + 1] : undefined });
const root = fileURLToPath(new URL('../..', import.meta.url));
if (!isBuildFresh(root)) {
  process.stderr.write('startup: dist/ is not current; run `npm run build` first (the compiled figures must be of these sources)\n');
  process.exit(3);
}
const log = (line: string): void => void process.stderr.write(`startup: ${line}\n`);
const dataRoot = mkdtempSync(join(tmpdir(), 'quorumchat-startup-'));
const ids = replicaIdsFor(5);
useRuntime('compiled');
const { cluster } = await LocalCluster.start({ dataRoot, replicaIds: ids, port: await findFreePort(), prefix: DEFAULT_PREFIX, onProgress: log });
try {
  const restartMs: Record<Runtime, number[]> = { tsx: [], compiled: [] };
  for (let i = 0; i < 2 * args.restarts; i++) {
    const runtime = RUNTIMES[i % 2]!;
    const { id, ms } = await restartFollower(runtime);
    restartMs[runtime].push(ms);
    log(`${runtime}: ${id} answered ${ms.toFixed(0)} ms after its spawn`);
    await sleep(BETWEEN_RESTARTS_MS);
  }
  const idleRssMiB: Record<Runtime, number[]> = { tsx: [], compiled: [] };
  for (const runtime of RUNTIMES) {
    for (const id of ids) await restartOne(id, runtime);
    await waitForSettled(cluster.nc, cluster.prefix, ids);
    log(`${runtime}: all five restarted; idle for ${IDLE_SETTLE_MS / 1000} s`);
    await sleep(IDLE_SETTLE_MS);
    const rss = readRss(new Map(cluster.supervisor.list().flatMap((r) => (r.pid === null ? [] : [[r.id, r.pid] as const]))));
    idleRssMiB[runtime] = [...rss.values()].map((kib) => kib / 1_024);
  }
  for (const runtime of RUNTIMES) {
    const times = restartMs[runtime];
    const rss = idleRssMiB[runtime];
    process.stdout.write(
      `${runtime.padEnd(8)}  restart → status answer median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}, n ${times.length});  ` +
        `idle RSS per replica median ${median(rss).toFixed(0)} MiB (min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)})\n`,
    );
  }
} finally {
  await cluster.stop();
  rmSync(dataRoot, { recursive: true, force: true });
}

/**
 * The runtime of the replicas spawned from now on. The supervisor passes this
 * process's environment to each replica it spawns, and the bin reads
 * QUORUMCHAT_RUNTIME; a measurement script may set its own environment.
 */
function useRuntime(runtime: Runtime): void {
  process.env['QUORUMCHAT_RUNTIME'] = runtime === 'tsx' ? 'tsx' : 'auto';
}

/** Restarts a follower (restarting the leader would time an election too) and times spawn → first status answer. */
async function restartFollower(runtime: Runtime): Promise<{ id: string; ms: number }> {
  const status = await Promise.all(ids.map((id) => queryReplicaStatus(cluster.nc, cluster.prefix, id)));
  const id = status.find((s) => 'status' in s && s.status.role === 'follower')?.id ?? ids[0]!;
  return { id, ms: await restartOne(id, runtime) };
}

async function restartOne(id: string, runtime: Runtime): Promise<number> {
  await cluster.supervisor.stop(id);
  useRuntime(runtime);
  const started = performance.now();
  cluster.supervisor.start(id);
  for (;;) {
    const answer = await queryReplicaStatus(cluster.nc, cluster.prefix, id, POLL_TIMEOUT_MS);
    if ('status' in answer) return performance.now() - started;
    if (performance.now() - started > START_GIVE_UP_MS) throw new Error(`${id} did not answer within ${START_GIVE_UP_MS / 1000} s`);
    await sleep(POLL_INTERVAL_MS);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
